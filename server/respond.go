package main

import (
	"net/http"
	"net/rpc"
	"reflect"
)

// writeResponse writes the core's response. Every method of a plugin's response writer is a
// round trip to the server's process (Mattermost's plugin.httpResponseWriterRPCClient): Header
// is one, and WriteHeader and Write are two each, because both send the headers
// (Plugin.SyncHeader) before doing their own part. So a 200 — every click, ack and lookup
// answered — leaves the status to the Write, as net/http does, and a response with no body
// (the core's empty answer to a request Mattermost made itself) writes nothing: no round trip.
//
// A response to Mattermost's own request (a click, a submission, a lookup: the core marks it
// to_mattermost) is read by Mattermost from a LocalResponseWriter that ignores headers
// (doPluginRequest), so sending them buys nothing: it goes straight to the writer's
// Plugin.Write (and Plugin.WriteHeader), one round trip instead of two on every answered
// click, submission and lookup. Everyone else gets JSON's Content-Type on top of the headers
// Mattermost has set, through the writer's own methods.
func writeResponse(w http.ResponseWriter, r *response) {
	if r.ToMattermost {
		if c := pluginWriterRPC(w); c != nil {
			writeOverRPC(c, r)
			return
		}
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	if r.Status != http.StatusOK {
		w.WriteHeader(r.Status)
	}
	if r.Body != "" {
		_, _ = w.Write([]byte(r.Body))
	}
}

// writeOverRPC calls the server's side of the response writer (plugin.httpResponseWriterRPCServer)
// without its header round trip: the same methods, with the same arguments, that the writer's
// own WriteHeader and Write call after it.
func writeOverRPC(c *rpc.Client, r *response) {
	if r.Status != http.StatusOK {
		if err := c.Call("Plugin.WriteHeader", r.Status, nil); err != nil {
			return // the stream is gone: so is the request
		}
	}
	if r.Body != "" {
		_ = c.Call("Plugin.Write", []byte(r.Body), nil)
	}
}

var rpcClientType = reflect.TypeFor[*rpc.Client]()

// pluginWriterRPC is the RPC client inside Mattermost's response writer (its unexported field
// `client`), or nil when w is some other writer (a test's recorder) or its shape has changed:
// then the response goes through w's methods, as correct and a round trip slower.
// TestMattermostsResponseWriterHasTheShapeWeReach checks the shape in the version this plugin
// is built with.
func pluginWriterRPC(w http.ResponseWriter) *rpc.Client {
	v := reflect.ValueOf(w)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("client")
	if !f.IsValid() || f.Type() != rpcClientType || f.IsNil() {
		return nil
	}
	return (*rpc.Client)(f.UnsafePointer())
}
