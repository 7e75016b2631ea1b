package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schemas of docs/schemas, by event name without Mattermost's custom_<id>_ prefix.
// socket.next checks every plugin event a test receives against them, so the published
// schemas are held to what real bots get.
var schemaFiles = map[string]string{
	"action":            "action-event.schema.json",
	"dialog_submission": "dialog-submission-event.schema.json",
	"dialog_refresh":    "dialog-submission-event.schema.json",
	"dialog_lookup":     "dialog-lookup-event.schema.json",
	"command":           "command-event.schema.json",
	"subscribed":        "subscribed-event.schema.json",
	"unsubscribed":      "unsubscribed-event.schema.json",
	"ack_result":        "ack-result-event.schema.json",
	"error":             "error-event.schema.json",
	"resubscribe":       "resubscribe-event.schema.json",
	// Not an event: what a bot sends (checked against the golden fixtures' acknowledgements).
	"ack": "ack.schema.json",
}

var (
	// Parts of other schemas, not events of their own.
	sharedSchemaFiles = []string{"expanded.schema.json"}

	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

func eventSchemas() (map[string]*jsonschema.Schema, error) {
	schemasOnce.Do(func() {
		c := jsonschema.NewCompiler()
		schemas = map[string]*jsonschema.Schema{}
		// Shared parts (proxy.expanded) are referred to by their $id.
		for _, file := range sharedSchemaFiles {
			_, doc, err := readSchema(file)
			if err != nil {
				schemasErr = err
				return
			}
			id, _ := doc.(map[string]any)["$id"].(string)
			if err := c.AddResource(id, doc); err != nil {
				schemasErr = err
				return
			}
		}
		compiled := map[string]*jsonschema.Schema{} // by file: two events may share one
		for event, file := range schemaFiles {
			if s, ok := compiled[file]; ok {
				schemas[event] = s
				continue
			}
			path, doc, err := readSchema(file)
			if err != nil {
				schemasErr = err
				return
			}
			if err := c.AddResource(path, doc); err != nil {
				schemasErr = err
				return
			}
			if schemas[event], err = c.Compile(path); err != nil {
				schemasErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			compiled[file] = schemas[event]
		}
	})
	return schemas, schemasErr
}

// readSchema reads docs/schemas/<file>: its absolute path and the document.
func readSchema(file string) (string, any, error) {
	path, err := filepath.Abs(filepath.Join("..", "..", "docs", "schemas", file))
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", file, err)
	}
	return path, doc, nil
}

// checkSchema validates a plugin event's data against its schema; other events pass.
func checkSchema(ev *model.WebSocketEvent) error {
	name, ok := strings.CutPrefix(string(ev.EventType()), "custom_"+pluginID+"_")
	if !ok {
		return nil
	}
	return validateData(name, ev.GetData())
}

func validateData(event string, data any) error {
	all, err := eventSchemas()
	if err != nil {
		return err
	}
	schema, ok := all[event]
	if !ok {
		return fmt.Errorf("event %q has no schema in docs/schemas", event)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	if err := schema.Validate(doc); err != nil {
		return fmt.Errorf("event %q does not match docs/schemas/%s: %v", event, schemaFiles[event], err)
	}
	return nil
}

// TestSchemasDescribeTheGoldenEvents needs no server: every event the shared golden fixtures
// publish must match its schema, and a few broken events must not.
func TestSchemasDescribeTheGoldenEvents(t *testing.T) {
	files, err := filepath.Glob("../fixtures/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden fixtures: %v", err)
	}
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Input struct {
				WebSocket *struct {
					Action string `json:"action"`
					Data   any    `json:"data"`
				} `json:"web_socket"`
			} `json:"input"`
			Request struct {
				Path string `json:"path"`
				Body any    `json:"body"`
			} `json:"request"`
			Expect struct {
				Effects []struct {
					Type  string `json:"type"`
					Event string `json:"event"`
					Data  any    `json:"data"`
				} `json:"effects"`
			} `json:"expect"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// What a bot sends: an acknowledgement, on the websocket or over REST.
		if ws := f.Input.WebSocket; ws != nil && ws.Action == "ack" && !strings.Contains(file, "not_an_event_id") {
			if err := validateData("ack", ws.Data); err != nil && !strings.Contains(file, "bad_answer") {
				t.Errorf("%s: %v", filepath.Base(file), err)
			}
			checked++
		}
		if f.Request.Path == "/api/v1/ack" {
			if err := validateData("ack", f.Request.Body); err != nil {
				t.Errorf("%s: %v", filepath.Base(file), err)
			}
		}
		for _, e := range f.Expect.Effects {
			if e.Type != "publish" {
				continue
			}
			if err := validateData(e.Event, e.Data); err != nil {
				t.Errorf("%s: %v", filepath.Base(file), err)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d published events in the fixtures", checked)
	}
	broken := map[string]map[string]any{
		"action without proxy":              {"user_id": "alicealicealicealicealice1", "context": map[string]any{"user_id": "bot1bot1bot1bot1bot1bot1b1"}},
		"dialog_submission with a bad user": {"callback_id": "", "state": "", "submission": map[string]any{}, "user_id": "alice", "user_name": "", "channel_id": "", "team_id": "", "cancelled": false},
	}
	for name, data := range broken {
		event, _, _ := strings.Cut(name, " ")
		if validateData(event, data) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
