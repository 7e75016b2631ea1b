// Command helloplugin is a minimal Mattermost server plugin used only to
// check the e2e harness's plugin upload path (scripts/make-hello-bundle.sh);
// it answers GET /plugins/com.example.e2e-hello/hello with "hello", and
// POST /plugins/com.example.e2e-hello/noop with "{}": an interactive-message
// action handler that does nothing, the baseline TestLoad compares the real
// plugin's click latency with.
package main

import (
	"net/http"

	"github.com/mattermost/mattermost/server/public/plugin"
)

type helloPlugin struct {
	plugin.MattermostPlugin
}

func (p *helloPlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/hello":
		_, _ = w.Write([]byte("hello"))
	case "/noop":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	default:
		http.NotFound(w, r)
	}
}

func main() {
	plugin.ClientMain(&helloPlugin{})
}
