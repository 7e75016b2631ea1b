// Command gobot is Socket Mode for Mattermost's example bot in Go: a
// websocket-only bot that posts a message with two buttons and a menu, then
// hears every click on its websocket; it has no HTTP endpoint of its own. It
// subscribes to the plugin's delivery protocol (socketmode.go), so that no
// click is lost while it restarts, and answers "Reject" and a region choice
// the way an HTTP integration would: the answer updates the message and shows
// the clicker a line of text. "Approve" opens a dialog through the plugin,
// and the submitted dialog also arrives on the websocket.
//
//	MM_URL=http://127.0.0.1:8065 MM_BOT_TOKEN=... MM_CHANNEL_ID=... go run .
//
// stdout gets one line per thing that happened ("posted <post_id>",
// "click <action> <user> <option or ->", "dialog opened <session_id>",
// "dialog error <code>", "submitted <user> <reason>", "cancelled <user>");
// diagnostics go to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

const (
	pluginID = "mattermost-plugin-interactive-message-actions-to-websocket-proxy"
	// Every action of the message points here: Mattermost calls the plugin,
	// and the plugin hands the click to the bot as a websocket event.
	handlerURL = "/plugins/" + pluginID + "/api/v1/handler"
)

// bot holds what the handlers need.
type bot struct {
	siteURL string // e.g. http://127.0.0.1:8065
	token   string // the bot's personal access token
	client  *model.Client4
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gobot: ")
	b := &bot{
		siteURL: strings.TrimRight(mustEnv("MM_URL"), "/"),
		token:   mustEnv("MM_BOT_TOKEN"),
	}
	channelID := mustEnv("MM_CHANNEL_ID")
	ctx := context.Background()

	b.client = model.NewAPIv4Client(b.siteURL)
	b.client.SetToken(b.token)
	me, _, err := b.client.GetMe(ctx, "") // GET /api/v4/users/me: checks the token
	if err != nil {
		log.Fatalf("who am I: %v", err)
	}

	posted := false
	sm := &SocketMode{
		// Subscribed for the first time: post now, so that every click on the message comes
		// through the subscription (and can be answered).
		OnSubscribed: func(map[string]any) {
			if posted {
				return
			}
			postID, err := b.postMessage(ctx, channelID, me.Id)
			if err != nil {
				log.Fatalf("post: %v", err)
			}
			say("posted %s", postID)
			posted = true
		},
		Handler: func(event string, data map[string]any) map[string]any {
			if event == "action" {
				return b.onClick(ctx, data)
			}
			b.onSubmission(ctx, data)
			return nil
		},
	}
	sm.Run(ctx, b.siteURL, b.token)
}

// postMessage posts the message with its actions, as the bot. The plugin
// delivers a click only if the message was posted by the bot named in
// integration.context.user_id: post with the bot's own token.
func (b *bot) postMessage(ctx context.Context, channelID, botID string) (string, error) {
	integration := func(action string) *model.PostActionIntegration {
		// The context is yours, except user_id: the bot that receives the click.
		return &model.PostActionIntegration{URL: handlerURL, Context: map[string]any{"user_id": botID, "action": action}}
	}
	post := &model.Post{ChannelId: channelID, Message: "Release 1.4.2 is ready."}
	post.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{{
		Text: "Deploy it to production?",
		// Action ids: letters and digits only (Mattermost's click route refuses others).
		Actions: []*model.PostAction{
			{Id: "approve", Name: "Approve", Type: model.PostActionTypeButton, Style: "primary", Integration: integration("approve")},
			{Id: "reject", Name: "Reject", Type: model.PostActionTypeButton, Style: "danger", Integration: integration("reject")},
			{Id: "region", Name: "Region", Type: model.PostActionTypeSelect, Integration: integration("region"),
				Options: []*model.PostActionOptions{{Text: "Europe", Value: "eu"}, {Text: "Americas", Value: "us"}}},
		},
	}})
	created, _, err := b.client.CreatePost(ctx, post)
	if err != nil {
		return "", err
	}
	return created.Id, nil
}

// onClick handles a click and returns the answer: data holds Mattermost's
// request for the click (user_name, post_id, trigger_id...), context the
// action's integration.context as posted, plus selected_option for a menu.
func (b *bot) onClick(ctx context.Context, data map[string]any) map[string]any {
	actionContext, _ := data["context"].(map[string]any)
	action, _ := actionContext["action"].(string)
	option, _ := actionContext["selected_option"].(string)
	user, _ := data["user_name"].(string)
	postID, _ := data["post_id"].(string)
	if option == "" {
		say("click %s %s -", action, user)
	} else {
		say("click %s %s %s", action, user, option)
	}
	switch action {
	case "reject":
		// The answer updates the post (its buttons stay) and tells the clicker.
		return map[string]any{
			"update":         map[string]any{"message": "Rejected by @" + user},
			"ephemeral_text": "You rejected release 1.4.2.",
		}
	case "region":
		return map[string]any{
			"update":         map[string]any{"message": "Region: " + option},
			"ephemeral_text": "Deploying to " + option + ".",
		}
	case "approve":
		triggerID, _ := data["trigger_id"].(string)
		b.openDialog(ctx, triggerID, postID)
	}
	return nil
}

// onSubmission handles a dialog submission, already checked by the plugin
// against the definition; state is what the bot put in the dialog.
func (b *bot) onSubmission(ctx context.Context, data map[string]any) {
	user, _ := data["user_name"].(string)
	if cancelled, _ := data["cancelled"].(bool); cancelled {
		say("cancelled %s", user)
		return
	}
	submission, _ := data["submission"].(map[string]any)
	reason, _ := submission["reason"].(string)
	say("submitted %s %s", user, reason)
	postID, _ := data["state"].(string)
	b.setMessage(ctx, postID, fmt.Sprintf("Approved by @%s: %s", user, reason))
}

// setMessage changes the post's text. A patch leaves the other fields,
// buttons included, as they are.
func (b *bot) setMessage(ctx context.Context, postID, message string) {
	if _, _, err := b.client.PatchPost(ctx, postID, &model.PostPatch{Message: &message}); err != nil {
		log.Printf("updating post %s: %v", postID, err)
	}
}

// openDialog opens the approval dialog through the plugin (not through
// /api/v4/actions/dialogs/open). The plugin gives the dialog a submission URL
// of its own, checks the fields (here: the reason's length) inside the dialog,
// and sends a valid submission to this bot as a websocket event. The trigger
// id expires within seconds of the click: open the dialog right away.
func (b *bot) openDialog(ctx context.Context, triggerID, postID string) {
	body, err := json.Marshal(model.OpenDialogRequest{ // its URL is left empty: the plugin sets its own
		TriggerId: triggerID,
		Dialog: model.Dialog{
			CallbackId:     "approve",
			Title:          "Approve release",
			NotifyOnCancel: true,   // also tell the bot when the person cancels
			State:          postID, // comes back in the submission event
			Elements: []model.DialogElement{
				{DisplayName: "Reason", Name: "reason", Type: "textarea", MinLength: 3, MaxLength: 200},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// A plain request: Client4's helpers read only Mattermost's own error
	// format, and the plugin's error code is worth keeping.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		b.siteURL+"/plugins/"+pluginID+"/api/v1/dialogs/open", bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.HTTPClient.Do(req)
	if err != nil {
		log.Printf("opening the dialog: %v", err)
		say("dialog error unreachable")
		return
	}
	defer resp.Body.Close()
	var answer struct {
		SessionID string `json:"session_id"`
		Error     struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	// {"session_id", "expires_at"}, or {"error": {"code", "message"}}; no JSON
	// at all if the plugin did not answer (e.g. it is disabled).
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Printf("opening the dialog: HTTP %d: %v", resp.StatusCode, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		say("dialog opened %s", answer.SessionID)
	case answer.Error.Code != "":
		log.Printf("dialog not opened: %s", answer.Error.Message)
		say("dialog error %s", answer.Error.Code)
	default:
		say("dialog error http_%d", resp.StatusCode)
	}
}

// say prints one result line on stdout (unbuffered in Go: each line is
// written at once).
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
