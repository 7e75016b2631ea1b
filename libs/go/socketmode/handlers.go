package socketmode

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
)

// Handlers are registered by what users name: an action's id, a context key, a dialog's
// callback_id, a command's trigger. Registering again replaces; registering after Run
// started is fine.

// Action handles clicks on the action whose id is actionID (integration.context.action_id,
// which App.Post, CreatePost and SendEphemeral put there): buttons, and menus unless a Menu
// handler takes them.
func (a *App) Action(actionID string, h ActionHandler) {
	setHandler(&a.handlers, a.handlers.actions, actionID, h)
}

// Menu handles choices in the menu whose id is actionID; e.SelectedOption is the value
// chosen.
func (a *App) Menu(actionID string, h ActionHandler) {
	setHandler(&a.handlers, a.handlers.menus, actionID, h)
}

// ActionContext handles clicks whose integration.context has every key of match with the
// same value, e.g. {"action": "approve"}: for messages posted with contexts of their own.
// Tried in the order registered, after the Action and Menu handlers.
func (a *App) ActionContext(match map[string]any, h ActionHandler) {
	var normalized map[string]any
	if raw, err := json.Marshal(match); err == nil {
		_ = json.Unmarshal(raw, &normalized) // as the event's context is: numbers are float64
	}
	a.handlers.mu.Lock()
	defer a.handlers.mu.Unlock()
	a.handlers.contexts = append(a.handlers.contexts, contextHandler{normalized, h})
}

// Dialog handles the submissions (and cancellations) of dialogs opened with callbackID.
func (a *App) Dialog(callbackID string, h DialogHandler) {
	setHandler(&a.handlers, a.handlers.dialogs, callbackID, h)
}

// Lookup handles the lookups of the dynamic select named field in dialogs opened with
// callbackID; field "" handles every dynamic select of those dialogs.
func (a *App) Lookup(callbackID, field string, h LookupHandler) {
	setHandler(&a.handlers, a.handlers.lookups, callbackID+"\x00"+field, h)
}

// Refresh handles field refreshes of dialogs opened with callbackID.
func (a *App) Refresh(callbackID string, h RefreshHandler) {
	setHandler(&a.handlers, a.handlers.refreshes, callbackID, h)
}

// Command handles the slash command /trigger, which the app registers with the plugin once
// subscribed (the registration is kept by the plugin: it survives restarts). Ready.Commands
// says whether it was taken. Registered after the app is ready, it is registered at once.
func (a *App) Command(trigger string, h CommandHandler, info CommandInfo) {
	trigger = strings.ToLower(strings.TrimPrefix(trigger, "/"))
	setHandler(&a.handlers, a.handlers.commands, trigger, command{h, info})
	a.mu.Lock()
	ready := a.ready
	a.mu.Unlock()
	if ready {
		a.running.Add(1)
		go func() {
			defer a.running.Done()
			if err := a.registerCommand(a.work, trigger, info); err != nil {
				a.log.Error("registering a slash command failed", "trigger", trigger, "error", err)
			}
		}()
	}
}

// Default handles every event of the plugin no other handler matched. Without it such
// events are acknowledged without an answer.
func (a *App) Default(h DefaultHandler) {
	a.handlers.mu.Lock()
	defer a.handlers.mu.Unlock()
	a.handlers.fallback = h
}

// OnWebSocketEvent receives Mattermost's own websocket events (posted, typing, hello…),
// in order, on the goroutine reading the connection: return quickly.
func (a *App) OnWebSocketEvent(h func(*model.WebSocketEvent)) {
	a.handlers.mu.Lock()
	defer a.handlers.mu.Unlock()
	a.handlers.onWebSocket = h
}

// OnReady is called once, after the first subscription was taken and the slash commands
// registered: a good time to post the bot's first message, whose clicks will then reach it.
func (a *App) OnReady(h func(ctx context.Context, r *Ready)) {
	a.handlers.mu.Lock()
	defer a.handlers.mu.Unlock()
	a.handlers.onReady = h
}

type command struct {
	h    CommandHandler
	info CommandInfo
}

type contextHandler struct {
	match map[string]any
	h     ActionHandler
}

type handlers struct {
	mu          sync.RWMutex
	actions     map[string]ActionHandler
	menus       map[string]ActionHandler
	contexts    []contextHandler
	dialogs     map[string]DialogHandler
	lookups     map[string]LookupHandler // by callback_id NUL field
	refreshes   map[string]RefreshHandler
	commands    map[string]command
	fallback    DefaultHandler
	onWebSocket func(*model.WebSocketEvent)
	onReady     func(context.Context, *Ready)
}

func newHandlers() handlers {
	return handlers{
		actions: map[string]ActionHandler{}, menus: map[string]ActionHandler{},
		dialogs: map[string]DialogHandler{}, lookups: map[string]LookupHandler{},
		refreshes: map[string]RefreshHandler{}, commands: map[string]command{},
	}
}

// setHandler registers h under key in m, one of hs's maps, under hs's lock.
func setHandler[H any](hs *handlers, m map[string]H, key string, h H) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	m[key] = h
}

func (hs *handlers) removeCommand(trigger string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.commands, strings.ToLower(strings.TrimPrefix(trigger, "/")))
}

func (hs *handlers) allCommands() map[string]command {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	out := make(map[string]command, len(hs.commands))
	for k, v := range hs.commands {
		out[k] = v
	}
	return out
}

func (hs *handlers) websocket() func(*model.WebSocketEvent) {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	return hs.onWebSocket
}

func (hs *handlers) ready() func(context.Context, *Ready) {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	return hs.onReady
}

// match decodes an event named name and finds its handler: run calls it and returns the
// answer, ack is what the event's Ack method calls. ok is false when nothing matches.
func (hs *handlers) match(name string, raw json.RawMessage, ack func(any)) (run func(context.Context) (any, error), ok bool) {
	hs.mu.RLock()
	defer hs.mu.RUnlock()
	base := event{raw: raw, ackFunc: ack}
	switch name {
	case "action":
		var e Action
		if decode(raw, &e) == nil {
			e.event = base
			e.ActionID, _ = e.Context["action_id"].(string)
			e.SelectedOption, _ = e.Context["selected_option"].(string)
			if h := hs.action(&e); h != nil {
				return func(ctx context.Context) (any, error) { return typed(h(ctx, &e)) }, true
			}
		}
	case "dialog_submission":
		var e DialogSubmission
		if decode(raw, &e) == nil {
			e.event = base
			if h := hs.dialogs[e.CallbackID]; h != nil {
				return func(ctx context.Context) (any, error) { return typed(h(ctx, &e)) }, true
			}
		}
	case "dialog_refresh":
		var e DialogRefresh
		if decode(raw, &e) == nil {
			e.event = base
			if h := hs.refreshes[e.CallbackID]; h != nil {
				return func(ctx context.Context) (any, error) {
					form, err := h(ctx, &e)
					if err != nil {
						return nil, err
					}
					return refreshAnswer(form), nil
				}, true
			}
		}
	case "dialog_lookup":
		var e DialogLookup
		if decode(raw, &e) == nil {
			e.event = base
			h := hs.lookups[e.CallbackID+"\x00"+e.SelectedField]
			if h == nil {
				h = hs.lookups[e.CallbackID+"\x00"]
			}
			if h != nil {
				return func(ctx context.Context) (any, error) {
					items, err := h(ctx, &e)
					if err != nil {
						return nil, err
					}
					return lookupAnswer(items), nil
				}, true
			}
		}
	case "command":
		var e Command
		if decode(raw, &e) == nil {
			e.event = base
			if c, found := hs.commands[e.Trigger]; found {
				return func(ctx context.Context) (any, error) { return typed(c.h(ctx, &e)) }, true
			}
		}
	}
	if hs.fallback == nil {
		return nil, false
	}
	e := Event{Name: name, event: base}
	_ = decode(raw, &e)
	h := hs.fallback
	return func(ctx context.Context) (any, error) { return h(ctx, &e) }, true
}

// action is the handler of a click: by action id (a menu's first), then by context.
func (hs *handlers) action(e *Action) ActionHandler {
	if e.ActionID != "" {
		if h := hs.menus[e.ActionID]; h != nil && e.SelectedOption != "" {
			return h
		}
		if h := hs.actions[e.ActionID]; h != nil {
			return h
		}
	}
	for _, c := range hs.contexts {
		if contextMatches(e.Context, c.match) {
			return c.h
		}
	}
	return nil
}

func contextMatches(ctx, match map[string]any) bool {
	for k, v := range match {
		got, ok := ctx[k]
		if !ok || !reflect.DeepEqual(got, v) {
			return false
		}
	}
	return true
}

// typed turns a handler's typed answer into the answer to send: a nil pointer is none.
func typed[T any](answer *T, err error) (any, error) {
	return answerOrNil(answer), err
}

// decode reads an event's data into its type, proxy.expanded included when it fits the
// model types; if it does not (a field of an unexpected type), the event is still handed
// over, Proxy.Expanded nil and the expansion left in Raw.
func decode(raw json.RawMessage, into any) error {
	if err := json.Unmarshal(raw, into); err == nil {
		return nil
	}
	var withoutExpanded map[string]json.RawMessage
	if err := json.Unmarshal(raw, &withoutExpanded); err != nil {
		return err
	}
	var proxy map[string]json.RawMessage
	if err := json.Unmarshal(withoutExpanded["proxy"], &proxy); err == nil {
		delete(proxy, "expanded")
		withoutExpanded["proxy"], _ = json.Marshal(proxy)
	}
	again, err := json.Marshal(withoutExpanded)
	if err != nil {
		return err
	}
	reflect.ValueOf(into).Elem().SetZero() // what the first try filled in before it failed
	return json.Unmarshal(again, into)
}
