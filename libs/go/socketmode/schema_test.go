package socketmode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// The typed events and answers against docs/schemas: a field the schema has and the type
// lacks, or the other way round, fails here, so the types follow the published contract.

// schemasDir is the repository's docs/schemas.
var schemasDir = filepath.Join("..", "..", "..", "docs", "schemas")

// announced are fields the plugin is about to add: the types read them already, the schemas
// do not have them yet. When a schema gains one, this test says to drop it here.
var announced = map[string][]string{}

// newerThanModel are fields of expanded entities that model v0.1.21's types lack (the
// README says such fields are not included): the schema may name them, the type cannot.
var newerThanModel = map[string][]string{
	"channel": {"autotranslation"},
}

func readSchema(t *testing.T, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(schemasDir, file))
	if os.IsNotExist(err) {
		t.Skip("docs/schemas is not here: the module was copied out of the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return doc
}

// at walks doc along path (object keys, or array indexes as "0", "1"…).
func at(t *testing.T, doc any, path ...string) map[string]any {
	t.Helper()
	cur := doc
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := int(p[0] - '0')
			cur = c[i]
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("no object at %s", strings.Join(path, "."))
	}
	return m
}

func schemaFields(t *testing.T, obj map[string]any) []string {
	t.Helper()
	props, _ := obj["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonFields are the JSON names of typ's fields (embedded unexported structs and "-" left out).
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sameFields fails for every schema field the type lacks and, when both, every type field
// the schema lacks (but the allowed ones).
func sameFields(t *testing.T, what string, obj map[string]any, typ reflect.Type, both bool, allowed []string, lacking []string) {
	t.Helper()
	inSchema, inType := schemaFields(t, obj), jsonFields(typ)
	for _, f := range inSchema {
		if !contains(inType, f) && !contains(lacking, f) {
			t.Errorf("%s: the schema has %q, %s does not", what, f, typ)
		}
		if contains(inType, f) && contains(lacking, f) {
			t.Errorf("%s: %s has %q now: remove it from newerThanModel", what, typ, f)
		}
		if contains(allowed, f) {
			t.Errorf("%s: the schema has %q now: remove it from the announced fields", what, f)
		}
	}
	if both {
		for _, f := range inType {
			if !contains(inSchema, f) && !contains(allowed, f) {
				t.Errorf("%s: %s has %q, the schema does not", what, typ, f)
			}
		}
	}
}

func TestTheEventTypesAreTheSchemas(t *testing.T) {
	action := readSchema(t, "action-event.schema.json")
	events := []struct {
		file  string
		typ   any
		proxy []string
	}{
		{"action-event.schema.json", Action{}, []string{"properties", "proxy"}},
		{"dialog-submission-event.schema.json", DialogSubmission{}, []string{"$defs", "proxy"}},
		{"dialog-submission-event.schema.json", DialogRefresh{}, []string{"$defs", "proxy"}},
		{"dialog-lookup-event.schema.json", DialogLookup{}, []string{"$defs", "proxy"}},
		{"command-event.schema.json", Command{}, []string{"$defs", "proxy"}},
	}
	for _, e := range events {
		doc := readSchema(t, e.file)
		typ := reflect.TypeOf(e.typ)
		sameFields(t, e.file, doc, typ, true, nil, nil)
		proxy := at(t, doc, e.proxy...)
		sameFields(t, e.file+" proxy", proxy, reflect.TypeOf(Proxy{}), true, announced["proxy"], nil)
		sameFields(t, e.file+" proxy.delivery", at(t, proxy, "properties", "delivery"), reflect.TypeOf(Delivery{}), true, announced["delivery"], nil)
	}
	// The context's documented keys are read into fields of their own.
	ctx := schemaFields(t, at(t, action, "properties", "context"))
	if !reflect.DeepEqual(ctx, []string{"selected_option", "user_id"}) {
		t.Errorf("action context keys %v: read the new ones into Action", ctx)
	}

	expanded := readSchema(t, "expanded.schema.json")
	sameFields(t, "expanded", expanded, reflect.TypeOf(Expanded{}), true, nil, nil)
	for def, typ := range map[string]any{"user": model.User{}, "channel": model.Channel{}, "team": model.Team{}, "post": model.Post{}} {
		sameFields(t, "expanded "+def, at(t, expanded, "$defs", def), reflect.TypeOf(typ), false, nil, newerThanModel[def])
	}

	sameFields(t, "subscribed", readSchema(t, "subscribed-event.schema.json"), reflect.TypeOf(Subscribed{}), true, nil, nil)

	ack := readSchema(t, "ack.schema.json")
	answers := []struct {
		path []string
		typ  any
	}{
		{[]string{"properties", "answer", "anyOf", "0"}, ActionAnswer{}},
		{[]string{"properties", "answer", "anyOf", "1"}, DialogAnswer{}},
		{[]string{"properties", "answer", "anyOf", "2", "properties", "items", "items"}, LookupItem{}},
		{[]string{"properties", "answer", "anyOf", "3"}, CommandAnswer{}},
	}
	for _, a := range answers {
		sameFields(t, "ack answer "+a.path[3], at(t, ack, a.path...), reflect.TypeOf(a.typ), true, nil, nil)
	}
	sameFields(t, "post update", map[string]any{"properties": map[string]any{"message": 1, "props": 1}}, reflect.TypeOf(PostUpdate{}), true, nil, nil)
}

// Every schema's examples decode into the types, values included.
func TestTheSchemaExamplesDecode(t *testing.T) {
	for file, typ := range map[string]any{
		"action-event.schema.json":     &Action{},
		"subscribed-event.schema.json": &Subscribed{},
		"expanded.schema.json":         &Expanded{},
	} {
		doc := readSchema(t, file)
		for i, ex := range doc["examples"].([]any) {
			raw, _ := json.Marshal(ex)
			v := reflect.New(reflect.TypeOf(typ).Elem()).Interface()
			if err := json.Unmarshal(raw, v); err != nil {
				t.Errorf("%s example %d: %v", file, i, err)
			}
		}
	}
	var x Expanded
	raw, _ := json.Marshal(readSchema(t, "expanded.schema.json")["examples"].([]any)[0])
	if err := json.Unmarshal(raw, &x); err != nil || x.ActingUser.Username != "alice" || x.Post.Message != "Deploy?" ||
		x.Locale != "de" || x.Errors["team"] == "" || x.ActingUser.Timezone["automaticTimezone"] != "Europe/Berlin" {
		t.Errorf("expanded example decoded as %+v (%v)", x, err)
	}
}

// An expansion that does not fit the model types (a newer Mattermost, say) does not cost
// the bot its event: the event is handed over without Proxy.Expanded, Raw has it all.
func TestAnExpansionThatDoesNotFitStillDeliversTheEvent(t *testing.T) {
	data := actionEvent(eventID(1), map[string]any{"action_id": "a"}, true)
	data["proxy"].(map[string]any)["expanded"] = map[string]any{"acting_user": map[string]any{"id": "u", "username": 42}, "locale": "de"}
	raw, _ := json.Marshal(data)
	var e Action
	if err := decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.UserName != "alice" || e.Proxy.EventID != eventID(1) || e.Proxy.Delivery.Attempt != 1 || e.Proxy.Expanded != nil {
		t.Errorf("decoded %+v", e)
	}
}

// The fields the plugin is about to add are read as soon as it sends them.
func TestAnnouncedFieldsAreRead(t *testing.T) {
	data := actionEvent(eventID(1), map[string]any{"action_id": "a"}, true)
	proxy := data["proxy"].(map[string]any)
	proxy["trigger_token"], proxy["trigger_expires_at"] = "tok", 1700000003000
	proxy["delivery"].(map[string]any)["reason"] = "offline"
	raw, _ := json.Marshal(data)
	var e Action
	if err := decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Proxy.TriggerToken != "tok" || e.Proxy.TriggerExpiresAt != 1700000003000 || e.Proxy.Delivery.Reason != "offline" {
		t.Errorf("proxy decoded as %+v, delivery %+v", e.Proxy, e.Proxy.Delivery)
	}
}
