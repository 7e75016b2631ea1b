package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestLintThroughTheServer asks the installed plugin to lint a message before posting it, the
// way a bot or a CI job would, and checks the findings and the preview it answers.
func TestLintThroughTheServer(t *testing.T) {
	requirePlugin(t)
	bot := env.Bots[0]
	props := map[string]any{"attachments": []any{map[string]any{"actions": []any{
		map[string]any{"id": "ship_it", "name": "Ship", "type": "button",
			"integration": map[string]any{"url": "/plugins/" + pluginID + "/api/v1/handler",
				"context": map[string]any{"user_id": bot.ID(), "action": "ship"}}},
		map[string]any{"id": "stop", "name": "Stop", "type": "button",
			"integration": map[string]any{"url": "/plugins/" + pluginID + "/api/v1/hander",
				"context": map[string]any{"action": "stop"}}},
	}}}}
	status, raw, err := call("POST", "/plugins/"+pluginID+"/api/v1/lint", bot.Token,
		map[string]any{"props": props, "bot_user_id": bot.ID()})
	if err != nil || status != http.StatusOK {
		t.Fatalf("lint: HTTP %d %s (%v)", status, raw, err)
	}
	var answer struct {
		Findings []struct {
			Path, Severity, Code string
		}
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatalf("lint answer %s: %v", raw, err)
	}
	found := map[string]string{}
	for _, f := range answer.Findings {
		if f.Severity == "error" {
			found[f.Path] = f.Code
		}
	}
	for _, path := range []string{
		"attachments[0].actions[0].id",                          // an underscore: Mattermost answers 404
		"attachments[0].actions[1].integration.url",             // not the handler
		"attachments[0].actions[1].integration.context.user_id", // no recipient
	} {
		if found[path] == "" {
			t.Errorf("no error finding at %s; findings: %s", path, raw)
		}
	}
	// A clean message: no error, and the preview is the event a click would deliver.
	clean := map[string]any{"attachments": []any{map[string]any{"actions": []any{
		map[string]any{"id": "ship", "name": "Ship", "type": "button",
			"integration": map[string]any{"url": "/plugins/" + pluginID + "/api/v1/handler",
				"context": map[string]any{"user_id": bot.ID(), "action": "ship"}}},
	}}}}
	status, raw, err = call("POST", "/plugins/"+pluginID+"/api/v1/lint", bot.Token,
		map[string]any{"props": clean, "bot_user_id": bot.ID()})
	var cleanAnswer struct {
		Findings []struct{ Severity, Code string }
		Previews []struct {
			Delivered bool
			Event     map[string]any
		}
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(raw, &cleanAnswer) != nil {
		t.Fatalf("lint (clean): HTTP %d %s (%v)", status, raw, err)
	}
	for _, f := range cleanAnswer.Findings {
		if f.Severity == "error" {
			t.Errorf("a clean message has an error finding: %s", raw)
		}
	}
	if len(cleanAnswer.Previews) != 1 || !cleanAnswer.Previews[0].Delivered {
		t.Fatalf("want one deliverable preview: %s", raw)
	}
	if err := validateData("action", cleanAnswer.Previews[0].Event); err != nil {
		t.Errorf("the preview does not match the action schema: %v", err)
	}

	status, _, _ = call("POST", "/plugins/"+pluginID+"/api/v1/lint", "", map[string]any{"props": props})
	if status != http.StatusUnauthorized {
		t.Errorf("lint without a session: HTTP %d, want 401", status)
	}
}
