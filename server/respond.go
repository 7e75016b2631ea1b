package main

import (
	"net/http"
)

// writeResponse writes the core's response. Every method of a plugin's response writer is a
// round trip to the server's process. Mattermost's writer (plugin.httpResponseWriterRPCClient)
// fetches the headers once (Header) and sends them before every WriteHeader and Write
// (Plugin.SyncHeader); this plugin's, streamWriter, sends them once, and for a request from the
// network has them fetched before the handler answers (streams.go). So a 200 — every click,
// ack and lookup answered — leaves the status to the Write, as net/http does, and a response
// with no body (the core's empty answer to a request Mattermost made itself) writes nothing: no
// round trip.
//
// A response to Mattermost's own request (a click, a submission, a lookup: the core marks it
// to_mattermost) is read by Mattermost from a LocalResponseWriter that ignores headers
// (doPluginRequest), so sending them buys nothing: it goes straight to the writer's
// Plugin.Write (and Plugin.WriteHeader), one round trip on every answered click, submission
// and lookup. Skipping the header sync also leaves the headers Mattermost set on the response
// as they are: Mattermost's writer sent an empty set for such a response, which wiped them for
// anyone posting to those URLs directly. Everyone else gets JSON's Content-Type on top of the
// headers Mattermost has set: two round trips after the decision for a 200 (SyncHeader, Write),
// three for a refusal (and WriteHeader), where Mattermost's writer takes three and five.
// (Any other writer — a test's recorder; Mattermost's own, were its hooks' server ever served
// as it is, see streams.go — is written through its methods: the same bytes, and for
// Mattermost's writer the round trips above.)
func writeResponse(w http.ResponseWriter, r *response) {
	if r.ToMattermost {
		if sw, ok := w.(*streamWriter); ok {
			sw.writeWithoutHeaders(r)
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

// writeWithoutHeaders calls the server's side of the response writer
// (plugin.httpResponseWriterRPCServer) without its header round trip: the same methods, with
// the same arguments, that the writer's own WriteHeader and Write call after it. As with the
// writer's own methods, a WriteHeader the server refuses (a status it does not accept) does not
// keep the body from being written.
func (w *streamWriter) writeWithoutHeaders(r *response) {
	w.settle()
	if r.Status != http.StatusOK {
		_ = w.client.Call("Plugin.WriteHeader", r.Status, nil)
	}
	if r.Body != "" {
		_ = w.client.Call("Plugin.Write", []byte(r.Body), nil)
	}
}
