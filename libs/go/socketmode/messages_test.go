package socketmode

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// What a bot does next, against the fake: each helper's request, exactly.

func newIdleApp(t *testing.T) (*App, *fakeMM) {
	f := newFakeMM(t)
	return New(f.srv.URL, testToken, Options{Logger: (&logSink{}).logger()}), f
}

// pointed is an action as the plugin must receive it.
func pointed(id, name, typ string, context map[string]any) map[string]any {
	if context == nil {
		context = map[string]any{}
	}
	context["user_id"] = testBot
	if _, ok := context["action_id"]; !ok {
		context["action_id"] = id
	}
	return map[string]any{"id": id, "name": name, "type": typ, "integration": map[string]any{"url": HandlerURL, "context": context}}
}

func TestPostPointsEveryActionAtThePlugin(t *testing.T) {
	a, f := newIdleApp(t)
	approve := Button("approve", "Approve")
	approve.Style = "primary"
	own := Button("reject", "Reject")
	own.Integration = &model.PostActionIntegration{Context: map[string]any{"release": "1.4.2"}}
	elsewhere := Button("docs", "Docs")
	elsewhere.Integration = &model.PostActionIntegration{URL: "https://ci.example.com/hook"}
	menu := Select("region", "Region", Option("Europe", "eu"), Option("Americas", "us"))
	at := Attachment("Deploy it?", approve, own, elsewhere, menu)

	created, err := a.Post(context.Background(), "chanchanchanchanchanchan01", "Release 1.4.2 is ready.", at)
	if err != nil {
		t.Fatal(err)
	}
	if created.Id == "" {
		t.Error("the created post has no id")
	}
	call := f.call(t, "POST /api/v4/posts")
	if call.Body["channel_id"] != "chanchanchanchanchanchan01" || call.Body["message"] != "Release 1.4.2 is ready." {
		t.Errorf("posted %s", mustJSON(call.Body))
	}
	attachments := call.Body["props"].(map[string]any)["attachments"].([]any)
	actions := attachments[0].(map[string]any)["actions"].([]any)
	want := []any{
		normalized(map[string]any{"id": "approve", "name": "Approve", "type": "button", "style": "primary",
			"integration": pointed("approve", "", "", nil)["integration"]}),
		pointed("reject", "Reject", "button", map[string]any{"release": "1.4.2"}),
		map[string]any{"id": "docs", "name": "Docs", "type": "button", "integration": map[string]any{"url": "https://ci.example.com/hook"}},
		normalized(map[string]any{"id": "region", "name": "Region", "type": "select",
			"options":     []any{map[string]any{"text": "Europe", "value": "eu"}, map[string]any{"text": "Americas", "value": "us"}},
			"integration": pointed("region", "", "", nil)["integration"]}),
	}
	if !reflect.DeepEqual(normalized(actions), normalized(want)) {
		t.Errorf("actions posted:\n%s\nwant\n%s", mustJSON(actions), mustJSON(want))
	}
	// The bot's own values are its own: nothing of them was changed.
	if own.Integration.URL != "" || len(own.Integration.Context) != 1 || approve.Integration != nil {
		t.Errorf("Post changed the actions it was given: %s, %s", mustJSON(own), mustJSON(approve))
	}
}

func TestSendEphemeralPointsAndSendsThroughThePlugin(t *testing.T) {
	a, f := newIdleApp(t)
	f.reply("POST /api/v1/ephemeral", func(map[string]any) (int, string) { return 200, `{"post_id":"ephemeralephemeralephemer1"}` })
	id, err := a.SendEphemeral(context.Background(), EphemeralPost{UserID: testUser, ChannelID: "c", RootID: "root",
		Message: "Drop the staging database?", Attachments: []*model.SlackAttachment{Attachment("", Button("drop", "Drop it"))}})
	if err != nil || id != "ephemeralephemeralephemer1" {
		t.Fatalf("SendEphemeral = %q, %v", id, err)
	}
	call := f.call(t, "POST /api/v1/ephemeral")
	want := normalized(map[string]any{"user_id": testUser, "channel_id": "c", "root_id": "root", "message": "Drop the staging database?",
		"props": map[string]any{"attachments": []any{map[string]any{"actions": []any{pointed("drop", "Drop it", "button", nil)}}}}})
	got := normalized(call.Body).(map[string]any)
	// The attachment's other (empty) fields are model.SlackAttachment's; compare the actions.
	gotActions := got["props"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["actions"]
	wantActions := want.(map[string]any)["props"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["actions"]
	delete(got, "props")
	delete(want.(map[string]any), "props")
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotActions, wantActions) {
		t.Errorf("sent %s with actions %s", mustJSON(got), mustJSON(gotActions))
	}

	// A refusal is an *APIError with the plugin's code.
	f.reply("POST /api/v1/ephemeral", func(map[string]any) (int, string) {
		return 403, `{"error":{"code":"ephemeral_not_allowed","message":"alice cannot read the channel"},"ephemeral_text":"…"}`
	})
	_, err = a.SendEphemeral(context.Background(), EphemeralPost{UserID: testUser, ChannelID: "c", Message: "x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "ephemeral_not_allowed" || apiErr.Status != 403 || apiErr.Message != "alice cannot read the channel" {
		t.Errorf("err = %#v", err)
	}
}

func TestOpenDialogSendsTheTriggerTokenOnlyWhenTheEventHasOne(t *testing.T) {
	a, f := newIdleApp(t)
	f.reply("POST /api/v1/dialogs/open", func(map[string]any) (int, string) { return 200, `{"session_id":"s1","expires_at":17}` })
	dialog := model.Dialog{CallbackId: "approve", Title: "Approve", Elements: []model.DialogElement{{DisplayName: "Reason", Name: "reason", Type: "text"}}}
	for _, token := range []string{"", "tok"} {
		click := &Action{TriggerID: "trig", Proxy: Proxy{TriggerToken: token}}
		s, err := a.OpenDialog(context.Background(), click, dialog)
		if err != nil || *s != (DialogSession{"s1", 17}) {
			t.Fatalf("OpenDialog = %+v, %v", s, err)
		}
		call := f.call(t, "POST /api/v1/dialogs/open")
		want := map[string]any{"trigger_id": "trig", "dialog": normalized(dialog)}
		if token != "" {
			want["trigger_token"] = token
		}
		if !reflect.DeepEqual(call.Body, want) {
			t.Errorf("token %q: sent %s, want %s", token, mustJSON(call.Body), mustJSON(want))
		}
	}
	// A command's trigger opens one too.
	if _, err := a.OpenDialog(context.Background(), &Command{TriggerID: "ctrig"}, dialog); err != nil {
		t.Fatal(err)
	}
	if call := f.call(t, "POST /api/v1/dialogs/open"); call.Body["trigger_id"] != "ctrig" {
		t.Errorf("sent %s", mustJSON(call.Body))
	}
	f.reply("POST /api/v1/dialogs/open", func(map[string]any) (int, string) {
		return 410, `{"error":{"code":"trigger_expired","message":"the trigger id expired"}}`
	})
	_, err := a.OpenDialog(context.Background(), &Command{TriggerID: "old"}, dialog)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "trigger_expired" {
		t.Errorf("err = %v", err)
	}
}

func TestLintChecksThePostAsItWouldBePosted(t *testing.T) {
	a, f := newIdleApp(t)
	f.reply("POST /api/v1/lint", func(map[string]any) (int, string) {
		return 200, `{"findings":[{"path":"attachments[0].actions[0].id","severity":"error","code":"action_id_invalid","message":"m","fix":"x"},
			{"path":"attachments[0]","severity":"warning","code":"w","message":"m","fix":"x"}],
			"previews":[{"path":"attachments[0].actions[0]","action_id":"approve_1","delivered":false,"event":{"user_id":"u"}}]}`
	})
	p := &model.Post{ChannelId: "c", Message: "m"}
	p.AddProp("attachments", []*model.SlackAttachment{Attachment("", Button("approve_1", "Approve"))})
	r, err := a.Lint(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if errs := r.Errors(); len(errs) != 1 || errs[0].Code != "action_id_invalid" || len(r.Previews) != 1 || r.Previews[0].ActionID != "approve_1" {
		t.Errorf("lint result %+v", r)
	}
	call := f.call(t, "POST /api/v1/lint")
	actions := call.Body["props"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["actions"]
	if call.Body["bot_user_id"] != testBot || !reflect.DeepEqual(actions, []any{pointed("approve_1", "Approve", "button", nil)}) {
		t.Errorf("linted %s", mustJSON(call.Body))
	}
}

func TestAnswersWithButtonsArePointedAtThePlugin(t *testing.T) {
	at := []*model.SlackAttachment{Attachment("Sure?", Button("yes", "Yes"))}
	cases := map[string]struct {
		answer any
		want   string
	}{
		"update keeps the buttons": {&ActionAnswer{Update: &PostUpdate{Message: "m"}}, `{"update":{"message":"m"}}`},
		"update clears the text":   {&ActionAnswer{Update: &PostUpdate{}, EphemeralText: "t"}, `{"update":{"message":""},"ephemeral_text":"t"}`},
		"no answer":                {nil, ``},
		"a lookup":                 {lookupAnswer(nil), `{"items":[]}`},
		"a next form":              {&DialogAnswer{Form: &model.Dialog{Title: "2"}}, ``},
	}
	for name, tc := range cases {
		raw, err := encodeAnswer(tc.answer, testBot)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want != "" && string(raw) != tc.want {
			t.Errorf("%s: %s, want %s", name, raw, tc.want)
		}
		if name == "no answer" && raw != nil {
			t.Errorf("no answer encoded as %s", raw)
		}
		if name == "a next form" && normalized(raw).(map[string]any)["type"] != "form" {
			t.Errorf("a next form encoded as %s", raw)
		}
	}
	for name, answer := range map[string]any{
		"update":  &ActionAnswer{Update: &PostUpdate{Message: "m", Attachments: at, Props: model.StringInterface{"card": "x"}}},
		"command": &CommandAnswer{ResponseType: InChannel, Attachments: at},
	} {
		raw, err := encodeAnswer(answer, testBot)
		if err != nil {
			t.Fatal(err)
		}
		m := normalized(raw).(map[string]any)
		var list []any
		if name == "update" {
			props := m["update"].(map[string]any)["props"].(map[string]any)
			if props["card"] != "x" {
				t.Errorf("update props %s lost the bot's own", mustJSON(props))
			}
			list = props["attachments"].([]any)
		} else {
			list = m["attachments"].([]any)
		}
		actions := list[0].(map[string]any)["actions"]
		if !reflect.DeepEqual(actions, []any{pointed("yes", "Yes", "button", nil)}) {
			t.Errorf("%s: actions %s", name, mustJSON(actions))
		}
	}
	if at[0].Actions[0].Integration != nil {
		t.Error("encoding an answer changed the bot's attachments")
	}
}

func TestAPIErrorsThatAreNotThePlugins(t *testing.T) {
	a, f := newIdleApp(t)
	f.reply("DELETE /api/v1/commands/release", func(map[string]any) (int, string) { return 502, "<html>bad gateway</html>" })
	err := a.RemoveCommand(context.Background(), "release")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "http_502" || apiErr.Status != http.StatusBadGateway {
		t.Errorf("err = %#v", err)
	}
}
