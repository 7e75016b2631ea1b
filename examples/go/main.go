// Command gobot is Socket Mode for Mattermost's example bot in Go, on the socketmode library
// (libs/go): a websocket-only bot that posts a message with two buttons and a menu and hears
// every click, with no HTTP endpoint of its own. "Reject" and a region choice are answered
// as an HTTP integration would answer them: the message changes and the clicker reads a
// line. "Approve" opens a dialog through the plugin; the dialog's approver menu (a dynamic
// select) and the submitted dialog are answered by the bot too. It registers a slash
// command (/release) and answers it. The library subscribes, acknowledges, drops repeats
// and reconnects.
//
//	MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... go run .
//
// stdout gets one line per thing that happened ("posted <post_id>",
// "command registered <trigger>", "command error <code>",
// "click <action> <user> <option or ->", "dialog opened <session_id>",
// "dialog error <code>", "lookup <field> <query or ->",
// "submitted <user> <reason>", "refused <user> <reason>", "cancelled <user>",
// "command <user> <text>"); diagnostics go to stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go/socketmode"
)

// approvers are the approver menu's choices (value, and text = capitalized).
var approvers = []string{"alice", "bob", "carol", "dave"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gobot: ")
	trigger := os.Getenv("MM_COMMAND") // the slash command's trigger
	if trigger == "" {
		trigger = "release"
	}
	app := socketmode.New(mustEnv("MM_URL"), mustEnv("MM_BOT_TOKEN"), socketmode.Options{
		// Every event carries the person who acted, the clicked post and their language, as
		// the REST API would show them to the bot: no GET /users/{id} or /posts/{id} first.
		Expand: socketmode.Expand{ActingUser: socketmode.Summary, Post: socketmode.Summary, Locale: true},
	})
	channelID := mustEnv("MM_CHANNEL_ID")

	// Subscribed (and the command registered): post now, so every click comes through the
	// subscription and can be answered.
	app.OnReady(func(ctx context.Context, r *socketmode.Ready) {
		post, err := app.Post(ctx, channelID, "Release 1.4.2 is ready.", socketmode.Attachment("Deploy it to production?",
			&model.PostAction{Id: "approve", Name: "Approve", Type: model.PostActionTypeButton, Style: "primary"},
			&model.PostAction{Id: "reject", Name: "Reject", Type: model.PostActionTypeButton, Style: "danger"},
			socketmode.Select("region", "Region", socketmode.Option("Europe", "eu"), socketmode.Option("Americas", "us"))))
		if err != nil {
			log.Fatalf("post: %v", err)
		}
		say("posted %s", post.Id)
		if err := r.Commands[trigger]; err != nil { // e.g. command_taken: another bot, or Mattermost, has it
			say("command error %s", code(err))
		} else {
			say("command registered %s", trigger)
		}
	})

	app.Action("reject", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		click(e)
		// The answer updates the post (its buttons stay) and tells the clicker, in their
		// language, which release it was: read from the clicked post.
		release := releaseOf(e.Proxy.Expanded)
		text := "You rejected release " + release + "."
		if x := e.Proxy.Expanded; x != nil && strings.HasPrefix(x.Locale, "de") {
			text = "Du hast Release " + release + " abgelehnt."
		}
		return &socketmode.ActionAnswer{Update: &socketmode.PostUpdate{Message: "Rejected by @" + username(e.UserName, e.Proxy)}, EphemeralText: text}, nil
	})
	app.Menu("region", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		click(e)
		return &socketmode.ActionAnswer{
			Update:        &socketmode.PostUpdate{Message: "Region: " + e.SelectedOption},
			EphemeralText: "Deploying to " + e.SelectedOption + ".",
		}, nil
	})
	// Approve opens a dialog through the plugin, which checks its fields (the reason's
	// length) and points its dynamic select (the approver) at this bot's Lookup handler.
	// The trigger expires within seconds: open it at once.
	app.Action("approve", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		click(e)
		session, err := app.OpenDialog(ctx, e, model.Dialog{
			CallbackId:     "approve",
			Title:          "Approve release",
			NotifyOnCancel: true,     // also tell the bot when the person cancels
			State:          e.PostID, // comes back in the submission
			Elements: []model.DialogElement{
				{DisplayName: "Reason", Name: "reason", Type: "textarea", MinLength: 3, MaxLength: 200},
				{DisplayName: "Approver", Name: "approver", Type: "select", DataSource: "dynamic", Optional: true},
			},
		})
		if err != nil {
			say("dialog error %s", code(err))
		} else {
			say("dialog opened %s", session.SessionID)
		}
		return nil, nil
	})

	// What someone types in the approver menu: the matching choices.
	app.Lookup("approve", "approver", func(ctx context.Context, e *socketmode.DialogLookup) ([]socketmode.LookupItem, error) {
		say("lookup %s %s", e.SelectedField, orDash(e.Query))
		var items []socketmode.LookupItem
		for _, name := range approvers {
			if strings.HasPrefix(name, strings.ToLower(e.Query)) {
				items = append(items, socketmode.LookupItem{Text: strings.ToUpper(name[:1]) + name[1:], Value: name})
			}
		}
		return items, nil
	})

	// The submitted dialog, already checked by the plugin against its definition.
	app.Dialog("approve", func(ctx context.Context, e *socketmode.DialogSubmission) (*socketmode.DialogAnswer, error) {
		if e.Cancelled {
			say("cancelled %s", e.UserName)
			return nil, nil
		}
		reason, _ := e.Submission["reason"].(string)
		if strings.Contains(strings.ToLower(reason), "friday") {
			// The bot's own rule: the dialog stays open, the text beside the field.
			say("refused %s %s", e.UserName, reason)
			return &socketmode.DialogAnswer{Errors: map[string]string{"reason": "No releases on Fridays."}}, nil
		}
		say("submitted %s %s", e.UserName, reason)
		message := fmt.Sprintf("Approved by @%s: %s", e.UserName, reason)
		if approver, _ := e.Submission["approver"].(string); approver != "" { // optional: absent, or null
			message += " (approver: " + approver + ")"
		}
		// A patch changes the text and leaves the buttons as they are.
		if _, _, err := app.Client.PatchPost(ctx, e.State, &model.PostPatch{Message: &message}); err != nil {
			log.Printf("updating post %s: %v", e.State, err)
		}
		return &socketmode.DialogAnswer{}, nil // closes the dialog
	})

	// /release <text>: the answer is the command's response.
	app.Command(trigger, func(ctx context.Context, e *socketmode.Command) (*socketmode.CommandAnswer, error) {
		user := username(e.UserName, e.Proxy)
		say("command %s %s", user, e.Text)
		switch e.Text { // shown to the person who typed it only
		case "status":
			return &socketmode.CommandAnswer{ResponseType: socketmode.Ephemeral, Text: "Release 1.4.2 is waiting for approval."}, nil
		case "":
			return &socketmode.CommandAnswer{ResponseType: socketmode.Ephemeral, Text: "Usage: /" + e.Trigger + " status | /" + e.Trigger + " <version>"}, nil
		}
		// Posted in the channel, as the bot.
		return &socketmode.CommandAnswer{ResponseType: socketmode.InChannel, Text: fmt.Sprintf("@%s asked to release %s.", user, e.Text)}, nil
	}, socketmode.CommandInfo{DisplayName: "Release", Description: "Release 1.4.2: status or approve", Hint: "[status|<version>]"})

	// Ctrl-C or SIGTERM: finish what is running, acknowledge it, then stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// click prints a click: "click <action> <user> <option or ->".
func click(e *socketmode.Action) {
	say("click %s %s %s", e.ActionID, username(e.UserName, e.Proxy), orDash(e.SelectedOption))
}

// username is the verified username, from the expansions (user_name is passed through as
// received; the plugin vouches for ids and expansions only).
func username(given string, p socketmode.Proxy) string {
	if p.Expanded != nil && p.Expanded.ActingUser != nil {
		return p.Expanded.ActingUser.Username
	}
	return given
}

// releaseOf is the release a message like "Release 1.4.2 is ready." is about.
func releaseOf(x *socketmode.Expanded) string {
	if x != nil && x.Post != nil {
		if w := strings.Fields(x.Post.Message); len(w) > 1 && w[0] == "Release" {
			return w[1]
		}
	}
	return "1.4.2"
}

// code is the plugin's error code (unreachable when there was no answer at all).
func code(err error) string {
	var apiErr *socketmode.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	log.Print(err)
	return "unreachable"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// say prints one result line on stdout (unbuffered in Go: each line is written at once).
func say(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		log.Fatalf("set %s", name)
	}
	return v
}
