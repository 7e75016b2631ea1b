package socketmode

import (
	"context"
	"maps"
	"net/http"
	"net/url"

	"github.com/mattermost/mattermost/server/public/model"
)

// What a bot does next: post buttons that reach it, send a verified ephemeral message, open a
// dialog from a click or a command, check a message before posting it.

// HandlerURL is the integration.url of every button and menu that delivers to a bot.
const HandlerURL = "/plugins/" + PluginID + "/api/v1/handler"

// Button is a button action. Its id (letters and digits only: Mattermost routes no other
// click) is what App.Action matches.
func Button(id, name string) *model.PostAction {
	return &model.PostAction{Id: id, Name: name, Type: model.PostActionTypeButton}
}

// Select is a menu action with static options; App.Menu matches its id.
func Select(id, name string, options ...*model.PostActionOptions) *model.PostAction {
	return &model.PostAction{Id: id, Name: name, Type: model.PostActionTypeSelect, Options: options}
}

// Option is one choice of a Select.
func Option(text, value string) *model.PostActionOptions {
	return &model.PostActionOptions{Text: text, Value: value}
}

// Attachment is a message attachment holding text and actions.
func Attachment(text string, actions ...*model.PostAction) *model.SlackAttachment {
	return &model.SlackAttachment{Text: text, Actions: actions}
}

// Post posts message with attachments in channelID, as the bot, each action pointed at the
// plugin (see CreatePost).
func (a *App) Post(ctx context.Context, channelID, message string, attachments ...*model.SlackAttachment) (*model.Post, error) {
	p := &model.Post{ChannelId: channelID, Message: message}
	if len(attachments) > 0 {
		p.AddProp(model.PostPropsAttachments, attachments)
	}
	return a.CreatePost(ctx, p)
}

// CreatePost creates post as the bot (POST /api/v4/posts) with every action of its
// attachments pointed at the plugin: integration.url is HandlerURL, and
// integration.context gets user_id (the bot: only the bot that posted a message receives
// its clicks) and action_id (the action's id, what App.Action matches). Actions with another
// URL (an HTTP integration) are left alone. post itself is not changed.
func (a *App) CreatePost(ctx context.Context, post *model.Post) (*model.Post, error) {
	bot, err := a.botID()
	if err != nil {
		return nil, err
	}
	created, _, err := a.Client.CreatePost(ctx, pointPost(post, bot))
	return created, err
}

// EphemeralPost is a message shown to one person, with buttons the plugin signs for them.
type EphemeralPost struct {
	UserID    string
	ChannelID string
	// RootID is the thread to show it in (a post of ChannelID), or "".
	RootID      string
	Message     string
	Attachments []*model.SlackAttachment
	// Props are the post's other props (Attachments go into them).
	Props model.StringInterface
}

// SendEphemeral shows msg to msg.UserID alone, through the plugin (POST /api/v1/ephemeral):
// its actions are pointed at the plugin like CreatePost's and signed for that person, so
// their clicks reach the bot verified, and an Update answer replaces the ephemeral post. It
// returns the post's id.
func (a *App) SendEphemeral(ctx context.Context, msg EphemeralPost) (string, error) {
	bot, err := a.botID()
	if err != nil {
		return "", err
	}
	props := maps.Clone(msg.Props)
	if msg.Attachments != nil {
		if props == nil {
			props = model.StringInterface{}
		}
		props[model.PostPropsAttachments] = pointActions(msg.Attachments, bot)
	}
	body := map[string]any{"user_id": msg.UserID, "channel_id": msg.ChannelID, "message": msg.Message}
	if msg.RootID != "" {
		body["root_id"] = msg.RootID
	}
	if props != nil {
		body["props"] = props
	}
	var out struct {
		PostID string `json:"post_id"`
	}
	err = a.pluginCall(ctx, http.MethodPost, "/api/v1/ephemeral", body, &out)
	return out.PostID, err
}

// DialogSession is a dialog opened through the plugin.
type DialogSession struct {
	SessionID string `json:"session_id"`
	// ExpiresAt is when the session ends (ms since the epoch): a later submission is refused.
	ExpiresAt int64 `json:"expires_at"`
}

// OpenDialog opens dialog for the person who clicked or typed the command e, through the
// plugin (POST /api/v1/dialogs/open): its submission, its cancellation (NotifyOnCancel),
// its dynamic selects' lookups and its refreshes come back to this bot's Dialog, Lookup and
// Refresh handlers. Open it at once: a trigger expires within seconds. dialog.URL-like
// fields are the plugin's to set.
func (a *App) OpenDialog(ctx context.Context, e TriggerEvent, dialog model.Dialog) (*DialogSession, error) {
	triggerID, token := e.trigger()
	body := map[string]any{"trigger_id": triggerID, "dialog": dialog}
	if token != "" { // only when the plugin gave one: older plugins refuse unknown fields
		body["trigger_token"] = token
	}
	var s DialogSession
	if err := a.pluginCall(ctx, http.MethodPost, "/api/v1/dialogs/open", body, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// LintResult is what the plugin's lint says about a message.
type LintResult struct {
	// Findings is every problem, errors first: an error means a click would fail.
	Findings []LintFinding `json:"findings"`
	// Previews is, per action, whether a click would be delivered and the event the bot
	// would receive.
	Previews []LintPreview `json:"previews"`
}

// LintFinding is one problem of a message.
type LintFinding struct {
	// Path is where, below the props: "attachments[0].actions[1].id".
	Path string `json:"path"`
	// Severity is "error" (clicks fail) or "warning".
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// LintPreview is what a click on one action would do.
type LintPreview struct {
	Path      string         `json:"path"`
	ActionID  string         `json:"action_id"`
	Delivered bool           `json:"delivered"`
	Event     map[string]any `json:"event"`
}

// Errors are the findings that make a click fail.
func (r *LintResult) Errors() []LintFinding {
	var out []LintFinding
	for _, f := range r.Findings {
		if f.Severity == "error" {
			out = append(out, f)
		}
	}
	return out
}

// Lint asks the plugin (POST /api/v1/lint) what would make a click on post fail, with its
// actions pointed at the plugin as CreatePost would post them.
func (a *App) Lint(ctx context.Context, post *model.Post) (*LintResult, error) {
	bot, err := a.botID()
	if err != nil {
		return nil, err
	}
	var r LintResult
	body := map[string]any{"props": pointPost(post, bot).GetProps(), "bot_user_id": bot}
	if err := a.pluginCall(ctx, http.MethodPost, "/api/v1/lint", body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// CommandInfo is how a slash command shows in Mattermost's autocomplete.
type CommandInfo struct {
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	Hint        string `json:"hint,omitempty"`
	// NoAutocomplete hides the command from the autocomplete list.
	NoAutocomplete bool `json:"-"`
}

// registerCommand registers /trigger for the bot with the plugin (again: an update).
func (a *App) registerCommand(ctx context.Context, trigger string, info CommandInfo) error {
	body := map[string]any{"trigger": trigger, "autocomplete": !info.NoAutocomplete}
	for k, v := range map[string]string{"display_name": info.DisplayName, "description": info.Description, "hint": info.Hint} {
		if v != "" {
			body[k] = v
		}
	}
	return a.pluginCall(ctx, http.MethodPost, "/api/v1/commands", body, nil)
}

// RemoveCommand unregisters the bot's slash command /trigger (DELETE /api/v1/commands/<trigger>)
// and forgets its handler.
func (a *App) RemoveCommand(ctx context.Context, trigger string) error {
	if err := a.pluginCall(ctx, http.MethodDelete, "/api/v1/commands/"+url.PathEscape(trigger), nil, nil); err != nil {
		return err
	}
	a.handlers.removeCommand(trigger)
	return nil
}

// pointPost is a copy of post with its attachments' actions pointed at the plugin for bot.
func pointPost(post *model.Post, bot string) *model.Post {
	p := post.Clone()
	if attachments := post.Attachments(); len(attachments) > 0 {
		props := maps.Clone(p.GetProps())
		props[model.PostPropsAttachments] = pointActions(attachments, bot)
		p.SetProps(props)
	}
	return p
}

// pointActions copies attachments with every action that has no integration URL, or the
// plugin's, pointed at the plugin: url HandlerURL, context.user_id the bot, context.action_id
// the action's id.
func pointActions(attachments []*model.SlackAttachment, bot string) []*model.SlackAttachment {
	out := make([]*model.SlackAttachment, len(attachments))
	for i, at := range attachments {
		if at == nil {
			continue
		}
		c := *at
		c.Actions = make([]*model.PostAction, len(at.Actions))
		for j, action := range at.Actions {
			c.Actions[j] = pointAction(action, bot)
		}
		out[i] = &c
	}
	return out
}

func pointAction(action *model.PostAction, bot string) *model.PostAction {
	if action == nil || (action.Integration != nil && action.Integration.URL != "" && action.Integration.URL != HandlerURL) {
		return action
	}
	c := *action
	integration := model.PostActionIntegration{URL: HandlerURL}
	if action.Integration != nil {
		integration.Context = maps.Clone(action.Integration.Context)
	}
	if integration.Context == nil {
		integration.Context = map[string]any{}
	}
	integration.Context["user_id"] = bot
	if _, set := integration.Context["action_id"]; !set && action.Id != "" {
		integration.Context["action_id"] = action.Id
	}
	c.Integration = &integration
	return &c
}
