// Command golibbot is the bot lib_go_test.go runs: a bot on the Go socketmode library
// (libs/go), started and stopped as its own process, one or several at a time (replicas).
// It prints one JSON line per thing on stdout, and every event the library hands one of its
// handlers exactly as it was received, so that the test can hold each to docs/schemas:
//
//	{"kind": "ready", "post_id": "...", "commands": {"<trigger>": ""},   (the error code, or "")
//	 "lint": {"good": [], "bad": ["action_id_invalid"]}}                  (the lint's error codes)
//	{"kind": "event", "name": "action", "data": {...}}                   before handling it
//	{"kind": "dialog", "session_id": "...", "error": ""}                  a dialog opened, or not
//
// Environment: MM_URL, MM_BOT_TOKEN, MM_CHANNEL_ID, BOT_COMMAND (the slash command's trigger),
// BOT_REPLICA (a name put in its answers), BOT_POST=1 to post the test's message once ready.
// SIGTERM shuts it down the library's way: running handlers finish and are acknowledged.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go/socketmode"
)

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(v map[string]any) {
	out.Lock()
	defer out.Unlock()
	if err := out.enc.Encode(v); err != nil {
		log.Fatal(err)
	}
}

// seen prints an event handed to a handler, as received.
func seen(name string, raw json.RawMessage) {
	emit(map[string]any{"kind": "event", "name": name, "data": raw})
}

func code(err error) string {
	var apiErr *socketmode.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func main() {
	log.SetPrefix("golibbot: ")
	replica, trigger := os.Getenv("BOT_REPLICA"), os.Getenv("BOT_COMMAND")
	app := socketmode.New(os.Getenv("MM_URL"), os.Getenv("MM_BOT_TOKEN"), socketmode.Options{
		Expand: socketmode.Expand{ActingUser: socketmode.Summary, Channel: socketmode.Summary, Locale: true},
	})

	app.OnReady(func(ctx context.Context, r *socketmode.Ready) {
		ready := map[string]any{"kind": "ready", "commands": map[string]string{trigger: code(r.Commands[trigger])}}
		if os.Getenv("BOT_POST") == "1" {
			picks := make([]*model.PostActionOptions, 20)
			for i := range picks {
				v := string(rune('a' + i))
				picks[i] = socketmode.Option("Pick "+v, v)
			}
			attachment := socketmode.Attachment("Pick one", socketmode.Button("ok", "OK"), socketmode.Button("form", "Form"),
				socketmode.Select("pick", "Pick", picks...))
			// Lint first: the message as it will be posted, and one with a dead button.
			lint := map[string][]string{}
			for name, a := range map[string]*model.SlackAttachment{"good": attachment, "bad": socketmode.Attachment("", socketmode.Button("bad_id", "Bad"))} {
				p := &model.Post{ChannelId: os.Getenv("MM_CHANNEL_ID"), Message: "x"}
				p.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{a})
				r, err := app.Lint(ctx, p)
				if err != nil {
					log.Fatalf("lint: %v", err)
				}
				lint[name] = []string{}
				for _, f := range r.Errors() {
					lint[name] = append(lint[name], f.Code)
				}
			}
			ready["lint"] = lint
			post, err := app.Post(ctx, os.Getenv("MM_CHANNEL_ID"), "The library's test message.", attachment)
			if err != nil {
				log.Fatalf("post: %v", err)
			}
			ready["post_id"] = post.Id
		}
		emit(ready)
	})

	app.Action("ok", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		seen("action", e.Raw())
		return &socketmode.ActionAnswer{
			Update:        &socketmode.PostUpdate{Message: "OK by @" + e.Proxy.Expanded.ActingUser.Username},
			EphemeralText: "ok from " + replica,
		}, nil
	})
	app.Menu("pick", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		seen("action", e.Raw())
		return &socketmode.ActionAnswer{EphemeralText: "picked " + e.SelectedOption + " on " + replica}, nil
	})
	app.Action("form", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		seen("action", e.Raw())
		s, err := app.OpenDialog(ctx, e, model.Dialog{
			CallbackId: "libform", Title: "Library form", State: e.PostID,
			Elements: []model.DialogElement{
				{DisplayName: "Reason", Name: "reason", Type: "text", MinLength: 3, MaxLength: 100},
				{DisplayName: "Who", Name: "who", Type: "select", DataSource: "dynamic", Optional: true},
			},
		})
		dialog := map[string]any{"kind": "dialog", "error": code(err)}
		if s != nil {
			dialog["session_id"] = s.SessionID
		}
		emit(dialog)
		return nil, nil
	})
	app.Lookup("libform", "who", func(ctx context.Context, e *socketmode.DialogLookup) ([]socketmode.LookupItem, error) {
		seen("dialog_lookup", e.Raw())
		var items []socketmode.LookupItem
		for _, name := range []string{"alice", "bob", "carol"} {
			if strings.HasPrefix(name, e.Query) {
				items = append(items, socketmode.LookupItem{Text: strings.ToUpper(name[:1]) + name[1:], Value: name})
			}
		}
		return items, nil
	})
	app.Dialog("libform", func(ctx context.Context, e *socketmode.DialogSubmission) (*socketmode.DialogAnswer, error) {
		seen("dialog_submission", e.Raw())
		if reason, _ := e.Submission["reason"].(string); strings.Contains(reason, "friday") {
			return &socketmode.DialogAnswer{Errors: map[string]string{"reason": "Not on a Friday."}}, nil
		}
		return nil, nil // closes the dialog
	})
	// A button on an ephemeral message, sent through the plugin: its click comes verified,
	// and the answer's update replaces that ephemeral post.
	app.Action("drop", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		seen("action", e.Raw())
		if !e.Proxy.Verified {
			return &socketmode.ActionAnswer{EphemeralText: "not verified"}, nil
		}
		return &socketmode.ActionAnswer{Update: &socketmode.PostUpdate{Message: "Dropped."}, EphemeralText: "Done."}, nil
	})
	app.Command(trigger, func(ctx context.Context, e *socketmode.Command) (*socketmode.CommandAnswer, error) {
		seen("command", e.Raw())
		if e.Text == "ephemeral" {
			_, err := app.SendEphemeral(ctx, socketmode.EphemeralPost{UserID: e.UserID, ChannelID: e.ChannelID,
				Message: "Drop it?", Attachments: []*model.SlackAttachment{socketmode.Attachment("", socketmode.Button("drop", "Drop it"))}})
			return &socketmode.CommandAnswer{}, err // nothing more to show
		}
		return &socketmode.CommandAnswer{Text: "lib " + replica + ": " + e.Text}, nil
	}, socketmode.CommandInfo{Description: "The library's test command"})
	app.Default(func(ctx context.Context, e *socketmode.Event) (any, error) {
		seen(e.Name, e.Raw())
		return nil, nil
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
