package socketmode

import (
	"context"
	"encoding/json"

	"github.com/mattermost/mattermost/server/public/model"
)

// The events a bot receives, one type per kind, with the fields of docs/schemas (a test
// holds each type to its schema, field by field). Every event keeps the data exactly as it
// came in Raw, so a key a newer Mattermost or plugin adds is never lost.

// Proxy is what the plugin adds to every event: its id, when and how it was delivered.
type Proxy struct {
	// EventID is unique per event and the same on every attempt: the library runs a
	// handler once per EventID.
	EventID string `json:"event_id"`
	// ReceivedAt is when the plugin received the click, submission or command, in
	// milliseconds since the Unix epoch.
	ReceivedAt int64 `json:"received_at"`
	// Verified reports that the plugin checked the event (always true for dialogs and
	// commands; for a click, false only when verification is off or for an allowed
	// ephemeral message that did not come through the plugin).
	Verified bool `json:"verified"`
	// Version is the plugin version that delivered the event.
	Version string `json:"version"`
	// Delivery is set once the bot subscribed (the library subscribes for you): the event
	// is acknowledged, and an answer within the window is the person's response.
	Delivery *Delivery `json:"delivery,omitempty"`
	// Expanded holds what Options.Expand asked for: the acting user, the channel, the post…
	Expanded *Expanded `json:"expanded,omitempty"`
	// TriggerToken lets the plugin open a dialog from this event's trigger on any node of a
	// cluster; OpenDialog sends it when present.
	TriggerToken string `json:"trigger_token,omitempty"`
	// TriggerExpiresAt is until when (ms since the epoch) the event's trigger_id can still
	// open a dialog (a replayed click's may be dead: offer a fresh button instead); 0 when
	// the plugin does not say.
	TriggerExpiresAt int64 `json:"trigger_expires_at,omitempty"`
}

// Delivery says how an event is being delivered to a subscribed bot.
type Delivery struct {
	// Attempt is 1 for the first sending, more when the event comes again (same EventID).
	Attempt int `json:"attempt"`
	// Ack is always "required".
	Ack string `json:"ack"`
	// AnswerWithinMs is how long the person waits for the answer from FirstSentAt; 0 when
	// nobody waits (a late answer still applies).
	AnswerWithinMs int64 `json:"answer_within_ms"`
	// FirstSentAt is when the event was first sent, in milliseconds since the Unix epoch.
	FirstSentAt int64 `json:"first_sent_at"`
	// Reason says why the event came again: "offline", "not_answered", "connection_lost" or
	// "restarted"; empty on a first attempt (and from plugins that do not say).
	Reason string `json:"reason,omitempty"`
}

// Expanded is proxy.expanded (docs/schemas/expanded.schema.json): the entities the
// subscription asked for, as Mattermost's REST API shows them to the bot, in the types
// model.Client4 returns. An entity the bot may not read is nil and named in Errors.
type Expanded struct {
	ActingUser *model.User    `json:"acting_user,omitempty"`
	Channel    *model.Channel `json:"channel,omitempty"`
	Team       *model.Team    `json:"team,omitempty"`
	Post       *model.Post    `json:"post,omitempty"`
	RootPost   *model.Post    `json:"root_post,omitempty"`
	// Locale is the acting user's language, or the server's default.
	Locale string `json:"locale,omitempty"`
	// Errors names each entity asked for but left out, with the reason.
	Errors map[string]string `json:"errors,omitempty"`
}

// Action is a click on a button or a choice in a menu
// (custom_<id>_action, docs/schemas/action-event.schema.json).
type Action struct {
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	ChannelID   string `json:"channel_id"`
	ChannelName string `json:"channel_name"`
	TeamID      string `json:"team_id"`
	TeamDomain  string `json:"team_domain"`
	PostID      string `json:"post_id"`
	TriggerID   string `json:"trigger_id"`
	// Type is "button" or "select".
	Type string `json:"type"`
	// DataSource is a menu's source: "users", "channels", or "".
	DataSource string `json:"data_source"`
	// Context is the action's integration.context as posted (plus selected_option).
	Context map[string]any `json:"context"`
	Proxy   Proxy          `json:"proxy"`

	// ActionID is Context["action_id"]: the id of the action clicked, as App.Post and
	// App.SendEphemeral put it there.
	ActionID string `json:"-"`
	// SelectedOption is a menu's choice (Context["selected_option"]): an option's value, or
	// a user's or channel's id.
	SelectedOption string `json:"-"`

	event
}

// Ack acknowledges the click at once with answer (nil: no answer), before the handler
// returns; the handler then returns nil. Use it to answer first and work after.
func (e *Action) Ack(answer *ActionAnswer) { e.ack(answerOrNil(answer)) }

// DialogSubmission is a dialog submitted, or cancelled (custom_<id>_dialog_submission,
// docs/schemas/dialog-submission-event.schema.json).
type DialogSubmission struct {
	CallbackID string `json:"callback_id"`
	State      string `json:"state"`
	// Submission holds each field's value by name, already checked against the dialog.
	Submission map[string]any `json:"submission"`
	UserID     string         `json:"user_id"`
	UserName   string         `json:"user_name"`
	ChannelID  string         `json:"channel_id"`
	TeamID     string         `json:"team_id"`
	// Cancelled is true when the person cancelled a dialog opened with NotifyOnCancel.
	Cancelled bool  `json:"cancelled"`
	Proxy     Proxy `json:"proxy"`

	event
}

// Ack answers the submission at once (nil closes the dialog).
func (e *DialogSubmission) Ack(answer *DialogAnswer) { e.ack(answerOrNil(answer)) }

// DialogRefresh is a field marked refresh that changed (custom_<id>_dialog_refresh): the
// submission's shape, its values unchecked.
type DialogRefresh struct {
	CallbackID string         `json:"callback_id"`
	State      string         `json:"state"`
	Submission map[string]any `json:"submission"`
	UserID     string         `json:"user_id"`
	UserName   string         `json:"user_name"`
	ChannelID  string         `json:"channel_id"`
	TeamID     string         `json:"team_id"`
	Cancelled  bool           `json:"cancelled"`
	Proxy      Proxy          `json:"proxy"`

	event
}

// Ack answers the refresh at once with the form to show (nil leaves the dialog as it is).
func (e *DialogRefresh) Ack(form *model.Dialog) { e.ack(refreshAnswer(form)) }

// DialogLookup is someone typing in a dynamic select of a dialog the bot opened
// (custom_<id>_dialog_lookup, docs/schemas/dialog-lookup-event.schema.json).
type DialogLookup struct {
	CallbackID string `json:"callback_id"`
	State      string `json:"state"`
	// SelectedField is the name of the select being filled.
	SelectedField string `json:"selected_field"`
	// Query is what the person typed so far (empty when the menu just opened).
	Query string `json:"query"`
	// Submission holds the other fields' values so far, unchecked.
	Submission map[string]any `json:"submission"`
	UserID     string         `json:"user_id"`
	ChannelID  string         `json:"channel_id"`
	TeamID     string         `json:"team_id"`
	Proxy      Proxy          `json:"proxy"`

	event
}

// Ack answers the lookup at once with the menu's items.
func (e *DialogLookup) Ack(items []LookupItem) { e.ack(lookupAnswer(items)) }

// Command is a slash command the bot registered, typed by someone
// (custom_<id>_command, docs/schemas/command-event.schema.json).
type Command struct {
	// Command is the whole command as typed: "/deploy prod --now".
	Command string `json:"command"`
	// Trigger is the command's trigger, lowercase, without the slash: "deploy".
	Trigger string `json:"trigger"`
	// Text is what follows the trigger, trimmed: "prod --now".
	Text      string `json:"text"`
	UserID    string `json:"user_id"`
	UserName  string `json:"user_name"`
	ChannelID string `json:"channel_id"`
	TeamID    string `json:"team_id"`
	// RootID is the thread it was typed in; empty outside a thread.
	RootID    string `json:"root_id"`
	TriggerID string `json:"trigger_id"`
	Proxy     Proxy  `json:"proxy"`

	event
}

// Ack answers the command at once (nil: no answer).
func (e *Command) Ack(answer *CommandAnswer) { e.ack(answerOrNil(answer)) }

// Event is any event of the plugin that no handler matched, for App.Default.
type Event struct {
	// Name is the event's name without its custom_<plugin id>_ prefix: "action", "command"…
	Name  string `json:"-"`
	Proxy Proxy  `json:"proxy"`

	event
}

// Ack acknowledges the event at once with answer (marshalled as it is; nil: no answer).
func (e *Event) Ack(answer any) { e.ack(answer) }

// Subscribed is the plugin's reply to a subscription (docs/schemas/subscribed-event.schema.json).
type Subscribed struct {
	// ConnectionID is Mattermost's id of the subscribed connection.
	ConnectionID string `json:"connection_id"`
	// AnswerWindowMs is how long a click waits for the bot's answer.
	AnswerWindowMs int64 `json:"answer_window_ms"`
	// Kept is how many kept events follow, replayed.
	Kept int `json:"kept"`
	// Expand is what the bot's events now carry in proxy.expanded.
	Expand map[string]any `json:"expand"`
}

// event is what every handler-facing event shares: the data as received, and how to
// acknowledge it.
type event struct {
	raw     json.RawMessage
	ackFunc func(answer any)
}

// Raw is the event's data exactly as the plugin sent it.
func (e *event) Raw() json.RawMessage { return e.raw }

func (e *event) ack(answer any) {
	if e.ackFunc != nil {
		e.ackFunc(answer)
	}
}

// TriggerEvent is an event whose trigger_id can open a dialog: an *Action or a *Command.
type TriggerEvent interface {
	trigger() (id, token string)
}

func (e *Action) trigger() (string, string)  { return e.TriggerID, e.Proxy.TriggerToken }
func (e *Command) trigger() (string, string) { return e.TriggerID, e.Proxy.TriggerToken }

// The handlers, by kind of event. Each returns the answer (nil: acknowledge without one) or
// an error (logged; the event is acknowledged without an answer). ctx is not cancelled when
// the app shuts down: the library waits for running handlers (Options.ShutdownTimeout).
type (
	// ActionHandler answers a click or a menu choice.
	ActionHandler func(ctx context.Context, e *Action) (*ActionAnswer, error)
	// DialogHandler answers a submitted (or cancelled) dialog.
	DialogHandler func(ctx context.Context, e *DialogSubmission) (*DialogAnswer, error)
	// LookupHandler answers a dynamic select's lookup with its items.
	LookupHandler func(ctx context.Context, e *DialogLookup) ([]LookupItem, error)
	// RefreshHandler answers a field refresh with the form to show (nil: unchanged).
	RefreshHandler func(ctx context.Context, e *DialogRefresh) (*model.Dialog, error)
	// CommandHandler answers a slash command.
	CommandHandler func(ctx context.Context, e *Command) (*CommandAnswer, error)
	// DefaultHandler answers any other event of the plugin; its answer is sent as it is.
	DefaultHandler func(ctx context.Context, e *Event) (any, error)
)
