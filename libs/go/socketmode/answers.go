package socketmode

import (
	"encoding/json"
	"maps"

	"github.com/mattermost/mattermost/server/public/model"
)

// The answers a handler returns: what an HTTP integration would answer Mattermost with, for
// each kind of event (docs/schemas/ack.schema.json). The plugin checks every answer; one it
// refuses is logged by the library (the plugin's error event) and the event stays kept.

// ActionAnswer answers a click (Mattermost's PostActionIntegrationResponse).
type ActionAnswer struct {
	// Update changes the clicked post; nil leaves it as it is.
	Update *PostUpdate `json:"update,omitempty"`
	// EphemeralText is shown to the person who clicked, alone.
	EphemeralText    string `json:"ephemeral_text,omitempty"`
	SkipSlackParsing bool   `json:"skip_slack_parsing,omitempty"`
}

// PostUpdate is the clicked post's new content.
type PostUpdate struct {
	// Message is the post's new text (empty clears it, as for an HTTP integration).
	Message string `json:"message"`
	// Attachments, when set, replace the post's attachments; their actions are pointed at
	// the plugin as App.Post does. Nil keeps the post's buttons.
	Attachments []*model.SlackAttachment `json:"-"`
	// Props, when set, replace the post's props (Attachments go into them).
	Props model.StringInterface `json:"props,omitempty"`
}

// DialogAnswer answers a dialog submission (Mattermost's SubmitDialogResponse). An empty
// answer (or nil) closes the dialog.
type DialogAnswer struct {
	// Errors keeps the dialog open with each text beside its field (field name → text).
	Errors map[string]string `json:"errors,omitempty"`
	// Error keeps the dialog open with the text above the fields.
	Error string `json:"error,omitempty"`
	// Form, when set, is the next step of a multi-step dialog.
	Form *model.Dialog `json:"form,omitempty"`
	// Type is "form" with Form (the library sets it), else "" or "ok".
	Type string `json:"type,omitempty"`
}

// LookupItem is one choice of a dynamic select.
type LookupItem struct {
	// Text is what the person reads; the plugin uses Value when it is empty.
	Text  string `json:"text,omitempty"`
	Value string `json:"value"`
}

// CommandAnswer answers a slash command (Mattermost's CommandResponse, reduced).
type CommandAnswer struct {
	// ResponseType is "ephemeral" (the default: shown to the person alone) or "in_channel"
	// (posted by the plugin as the bot).
	ResponseType string `json:"response_type,omitempty"`
	Text         string `json:"text,omitempty"`
	// Attachments' actions are pointed at the plugin as App.Post does.
	Attachments      []*model.SlackAttachment `json:"attachments,omitempty"`
	SkipSlackParsing bool                     `json:"skip_slack_parsing,omitempty"`
}

// Response types of a CommandAnswer.
const (
	Ephemeral = "ephemeral"
	InChannel = "in_channel"
)

// answerOrNil makes a typed nil pointer an untyped nil: no answer.
func answerOrNil[T any](a *T) any {
	if a == nil {
		return nil
	}
	return a
}

// lookupAnswer wraps items as {"items": [...]}: never null, an empty menu is [].
func lookupAnswer(items []LookupItem) any {
	if items == nil {
		items = []LookupItem{}
	}
	return map[string]any{"items": items}
}

// refreshAnswer is {"type": "form", "form": ...}, or {} to leave the dialog as it is.
func refreshAnswer(form *model.Dialog) any {
	if form == nil {
		return map[string]any{}
	}
	return map[string]any{"type": "form", "form": form}
}

// encodeAnswer is the answer as the acknowledgement carries it, its buttons pointed at the
// plugin for bot; nil when there is none.
func encodeAnswer(answer any, bot string) (json.RawMessage, error) {
	switch a := answer.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return a, nil
	case *ActionAnswer:
		if a.Update != nil && a.Update.Attachments != nil {
			copied := *a
			update := *a.Update
			update.Props = maps.Clone(update.Props)
			if update.Props == nil {
				update.Props = model.StringInterface{}
			}
			update.Props[model.PostPropsAttachments] = pointActions(a.Update.Attachments, bot)
			copied.Update = &update
			a = &copied
		}
		return json.Marshal(a)
	case *CommandAnswer:
		if a.Attachments != nil {
			copied := *a
			copied.Attachments = pointActions(a.Attachments, bot)
			a = &copied
		}
		return json.Marshal(a)
	case *DialogAnswer:
		if a.Form != nil && a.Type == "" {
			copied := *a
			copied.Type = "form"
			a = &copied
		}
		return json.Marshal(a)
	}
	return json.Marshal(answer)
}
