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
// click, submission and lookup. Skipping the header sync also leaves the headers Mattermost set
// on the response as they are: the writer's own Write sent an empty set for such a response,
// which wiped them for anyone posting to those URLs directly. Everyone else gets JSON's
// Content-Type on top of the headers Mattermost has set, through the writer's own methods.
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
// own WriteHeader and Write call after it. As with the writer's own methods, a WriteHeader the server refuses (a status it does not
// accept) does not keep the body from being written.
func writeOverRPC(c *rpc.Client, r *response) {
	if r.Status != http.StatusOK {
		_ = c.Call("Plugin.WriteHeader", r.Status, nil)
	}
	if r.Body != "" {
		_ = c.Call("Plugin.Write", []byte(r.Body), nil)
	}
}

// The type of the writer Mattermost hands a plugin: its package and name.
const (
	mattermostWriterPkg  = "github.com/mattermost/mattermost/server/public/plugin"
	mattermostWriterName = "httpResponseWriterRPCClient"
)

// mattermostWriter is the type looked into; a test names its stand-in.
var mattermostWriter = struct{ pkg, name string }{mattermostWriterPkg, mattermostWriterName}

var rpcClientType = reflect.TypeFor[*rpc.Client]()

// pluginWriterRPC is the RPC client inside Mattermost's response writer (its unexported field
// `client`), or nil when w is some other writer (a test's recorder, a wrapper) or its shape
// has changed: then the response goes through w's methods, as correct and a round trip
// slower. Only Mattermost's own type is looked into, and only its own fields (no embedded
// struct is followed). TestMattermostsResponseWriterHasTheShapeWeReach checks the shape in the
// version this plugin is built with.
func pluginWriterRPC(w http.ResponseWriter) *rpc.Client {
	t := reflect.TypeOf(w)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct ||
		t.Elem().PkgPath() != mattermostWriter.pkg || t.Elem().Name() != mattermostWriter.name {
		return nil
	}
	v := reflect.ValueOf(w)
	if v.IsNil() {
		return nil
	}
	for i := range t.Elem().NumField() {
		f := t.Elem().Field(i)
		if f.Name != "client" || f.Anonymous || f.Type != rpcClientType {
			continue
		}
		client := v.Elem().Field(i)
		if client.IsNil() {
			return nil
		}
		return (*rpc.Client)(client.UnsafePointer())
	}
	return nil
}
