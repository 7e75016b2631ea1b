// Command gobot is Socket Mode for Mattermost's example bot in Go: a
// websocket-only bot that posts a message with two buttons and a menu, then
// hears every click on its websocket; it has no HTTP endpoint of its own. It
// subscribes to the plugin's delivery protocol (socketmode.go), so that no
// click is lost while it restarts, and answers "Reject" and a region choice
// the way an HTTP integration would: the answer updates the message and shows
// the clicker a line of text. "Approve" opens a dialog through the plugin;
// the dialog's approver menu (a dynamic select), and the submitted dialog,
// also arrive on the websocket, and the bot answers them (the menu's items;
// the submission's errors, or {} to close it). It registers a slash command
// (/release) and answers it too.
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

// approvers are the approver menu's choices (value, and text = capitalized).
var approvers = []string{"alice", "bob", "carol", "dave"}

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
	trigger := os.Getenv("MM_COMMAND") // the slash command's trigger
	if trigger == "" {
		trigger = "release"
	}
	ctx := context.Background()

	b.client = model.NewAPIv4Client(b.siteURL)
	b.client.SetToken(b.token)
	me, _, err := b.client.GetMe(ctx, "") // GET /api/v4/users/me: checks the token
	if err != nil {
		log.Fatalf("who am I: %v", err)
	}

	posted := false
	sm := &SocketMode{
		// Every event carries the person who acted, the clicked post and their language, as
		// the REST API would show them to the bot: no GET /users/{id} or /posts/{id} first.
		Expand: map[string]any{"acting_user": "summary", "post": "summary", "locale": true},
		// Subscribed for the first time: post (and register the command) now, so that every
		// click on the message, and every command, comes through the subscription (and can be
		// answered).
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
			b.registerCommand(ctx, trigger)
		},
		Handler: func(event string, data map[string]any) map[string]any {
			switch event {
			case "action":
				return b.onClick(ctx, data)
			case "command":
				return onCommand(data)
			case "dialog_lookup":
				return onLookup(data)
			case "dialog_submission":
				return b.onSubmission(ctx, data)
			}
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
	user := username(data)
	postID, _ := data["post_id"].(string)
	if option == "" {
		say("click %s %s -", action, user)
	} else {
		say("click %s %s %s", action, user, option)
	}
	switch action {
	case "reject":
		// The answer updates the post (its buttons stay) and tells the clicker, in their
		// language, which release it was: read from the clicked post.
		release := releaseOf(expanded(data, "post", "message"))
		text := "You rejected release " + release + "."
		if locale, _ := expandedValue(data, "locale").(string); strings.HasPrefix(locale, "de") {
			text = "Du hast Release " + release + " abgelehnt."
		}
		return map[string]any{
			"update":         map[string]any{"message": "Rejected by @" + user},
			"ephemeral_text": text,
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

// expandedValue is proxy.expanded[key] (SPEC §13), or nil.
func expandedValue(data map[string]any, key string) any {
	proxy, _ := data["proxy"].(map[string]any)
	x, _ := proxy["expanded"].(map[string]any)
	return x[key]
}

// expanded is proxy.expanded[entity][field] as text, or "".
func expanded(data map[string]any, entity, field string) string {
	e, _ := expandedValue(data, entity).(map[string]any)
	s, _ := e[field].(string)
	return s
}

// username is the verified username, from the expansions (user_name is passed through as
// received; the plugin vouches for ids and expansions only).
func username(data map[string]any) string {
	if u := expanded(data, "acting_user", "username"); u != "" {
		return u
	}
	u, _ := data["user_name"].(string)
	return u
}

// releaseOf is the release a message like "Release 1.4.2 is ready." is about.
func releaseOf(message string) string {
	if w := strings.Fields(message); len(w) > 1 && w[0] == "Release" {
		return w[1]
	}
	return "1.4.2"
}

// onCommand handles /release <text> and returns the command's response.
func onCommand(data map[string]any) map[string]any {
	user := username(data)
	text, _ := data["text"].(string)
	say("command %s %s", user, text)
	switch text { // shown to the person who typed it only
	case "status":
		return map[string]any{"response_type": "ephemeral", "text": "Release 1.4.2 is waiting for approval."}
	case "":
		return map[string]any{"response_type": "ephemeral", "text": "Usage: /" + data["trigger"].(string) + " status | /" + data["trigger"].(string) + " <version>"}
	}
	// Posted in the channel, as the bot.
	return map[string]any{"response_type": "in_channel", "text": fmt.Sprintf("@%s asked to release %s.", user, text)}
}

// onLookup answers what someone types in the approver menu with the matching choices.
func onLookup(data map[string]any) map[string]any {
	field, _ := data["selected_field"].(string)
	query, _ := data["query"].(string)
	if query == "" {
		say("lookup %s -", field)
	} else {
		say("lookup %s %s", field, query)
	}
	items := []map[string]string{} // not nil: an empty list is [], not null
	for _, name := range approvers {
		if strings.HasPrefix(name, strings.ToLower(query)) {
			items = append(items, map[string]string{"text": strings.ToUpper(name[:1]) + name[1:], "value": name})
		}
	}
	return map[string]any{"items": items}
}

// onSubmission handles a dialog submission, already checked by the plugin
// against the definition (state is what the bot put in the dialog), and
// returns the dialog's response.
func (b *bot) onSubmission(ctx context.Context, data map[string]any) map[string]any {
	user, _ := data["user_name"].(string)
	if cancelled, _ := data["cancelled"].(bool); cancelled {
		say("cancelled %s", user)
		return nil
	}
	submission, _ := data["submission"].(map[string]any)
	reason, _ := submission["reason"].(string)
	if strings.Contains(strings.ToLower(reason), "friday") {
		// The bot's own rule: the dialog stays open, the text beside the field.
		say("refused %s %s", user, reason)
		return map[string]any{"errors": map[string]any{"reason": "No releases on Fridays."}}
	}
	say("submitted %s %s", user, reason)
	message := fmt.Sprintf("Approved by @%s: %s", user, reason)
	if approver, _ := submission["approver"].(string); approver != "" { // optional: absent, or null
		message += fmt.Sprintf(" (approver: %s)", approver)
	}
	postID, _ := data["state"].(string)
	b.setMessage(ctx, postID, message)
	return map[string]any{} // closes the dialog
}

// setMessage changes the post's text. A patch leaves the other fields,
// buttons included, as they are.
func (b *bot) setMessage(ctx context.Context, postID, message string) {
	if _, _, err := b.client.PatchPost(ctx, postID, &model.PostPatch{Message: &message}); err != nil {
		log.Printf("updating post %s: %v", postID, err)
	}
}

// registerCommand registers the slash command /trigger for this bot (again:
// an update). Mattermost then sends it to the plugin, and the plugin to this
// bot as a websocket event; the bot's answer is the command's response.
func (b *bot) registerCommand(ctx context.Context, trigger string) {
	var answer struct {
		Command struct {
			Trigger string `json:"trigger"`
		} `json:"command"`
	}
	code := b.pluginPost(ctx, "commands", map[string]any{
		"trigger":      trigger,
		"display_name": "Release",
		"description":  "Release 1.4.2: status or approve",
		"hint":         "[status|<version>]",
	}, &answer)
	if code != "" { // e.g. command_taken: another bot, or Mattermost, has it
		say("command error %s", code)
		return
	}
	say("command registered %s", answer.Command.Trigger)
}

// openDialog opens the approval dialog through the plugin (not through
// /api/v4/actions/dialogs/open). The plugin gives the dialog a submission URL
// of its own, checks the fields (here: the reason's length) inside the dialog,
// and sends a valid submission to this bot as a websocket event. A dynamic
// select without a data_source_url (the approver) gets the plugin's too: what
// the person types in it comes to the bot as a dialog_lookup event. The
// trigger id expires within seconds of the click: open the dialog right away.
func (b *bot) openDialog(ctx context.Context, triggerID, postID string) {
	var answer struct {
		SessionID string `json:"session_id"`
	}
	code := b.pluginPost(ctx, "dialogs/open", model.OpenDialogRequest{ // its URL is left empty: the plugin sets its own
		TriggerId: triggerID,
		Dialog: model.Dialog{
			CallbackId:     "approve",
			Title:          "Approve release",
			NotifyOnCancel: true,   // also tell the bot when the person cancels
			State:          postID, // comes back in the submission event
			Elements: []model.DialogElement{
				{DisplayName: "Reason", Name: "reason", Type: "textarea", MinLength: 3, MaxLength: 200},
				{DisplayName: "Approver", Name: "approver", Type: "select", DataSource: "dynamic", Optional: true},
			},
		},
	}, &answer)
	if code != "" {
		say("dialog error %s", code)
		return
	}
	say("dialog opened %s", answer.SessionID)
}

// pluginPost POSTs body to the plugin's API with the bot's token and decodes
// a 200 answer into out. It returns "" on success, else the error's code
// (the plugin's own, like trigger_expired; or unreachable, http_<status>).
// A plain request: Client4's helpers read only Mattermost's own error format,
// and the plugin's error code is worth keeping.
func (b *bot) pluginPost(ctx context.Context, path string, body, out any) string {
	payload, err := json.Marshal(body)
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		b.siteURL+"/plugins/"+pluginID+"/api/v1/"+path, bytes.NewReader(payload))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.HTTPClient.Do(req)
	if err != nil {
		log.Printf("%s: %v", path, err)
		return "unreachable"
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			log.Printf("%s: %v", path, err)
		}
		return ""
	}
	// {"error": {"code", "message"}}; no JSON at all if the plugin did not
	// answer (e.g. it is disabled).
	var refusal struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&refusal); err != nil || refusal.Error.Code == "" {
		log.Printf("%s: HTTP %d", path, resp.StatusCode)
		return fmt.Sprintf("http_%d", resp.StatusCode)
	}
	log.Printf("%s: %s", path, refusal.Error.Message)
	return refusal.Error.Code
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
