// Command helloplugin is a minimal Mattermost server plugin used only to
// check the e2e harness's plugin upload path (scripts/make-hello-bundle.sh);
// it answers GET /plugins/com.example.e2e-hello/hello with "hello".
package main

import (
	"net/http"

	"github.com/mattermost/mattermost/server/public/plugin"
)

type helloPlugin struct {
	plugin.MattermostPlugin
}

func (p *helloPlugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/hello" {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write([]byte("hello"))
}

func main() {
	plugin.ClientMain(&helloPlugin{})
}
