// Command helloplugin is a minimal Mattermost server plugin for the e2e suite
// (scripts/make-hello-bundle.sh builds it). It answers
//
//   - GET /plugins/com.example.e2e-hello/hello with "hello" (the harness's upload check);
//   - POST /plugins/com.example.e2e-hello/noop with "{}": an action handler that does nothing,
//     what any plugin's ServeHTTP costs (TestLoad);
//   - POST /plugins/com.example.e2e-hello/baseline: the least a websocket proxy can do — read
//     the body, publish it unchanged to the user in context.user_id as
//     custom_com.example.e2e-hello_action, answer "{}" — checking nothing (TestSideBySide
//     compares the real plugin with it).
package main

import (
	"encoding/json"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
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
	case "/baseline":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		context, _ := body["context"].(map[string]any)
		userID, _ := context["user_id"].(string)
		p.API.PublishWebSocketEvent("action", body, &model.WebsocketBroadcast{UserId: userID})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	default:
		http.NotFound(w, r)
	}
}

func main() {
	plugin.ClientMain(&helloPlugin{})
}
