package socketmode

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// The protocol, against the fake Mattermost: subscribing, acknowledging, once per event,
// reconnecting, falling back to REST, shutting down.

func TestSubscribesOnEveryHelloAndResubscribe(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{Expand: Expand{ActingUser: Summary, Post: All, Locale: true}}, nil)
	c := <-f.conns
	sub := c.next(t, eventPrefix+"subscribe")
	want := map[string]any{"protocol": float64(1), "expand": map[string]any{"acting_user": "summary", "post": "all", "locale": true}}
	if !reflect.DeepEqual(sub.Data, want) {
		t.Errorf("subscribe data = %s, want %s", mustJSON(sub.Data), mustJSON(want))
	}
	// The plugin restarted: it asks, the bot subscribes again on the same connection.
	c.plugin("resubscribe", map[string]any{})
	if again := c.next(t, eventPrefix+"subscribe"); !reflect.DeepEqual(again.Data, want) {
		t.Errorf("subscribe after resubscribe = %s", mustJSON(again.Data))
	}
	// The connection drops: a new one, a new hello, a new subscription.
	c.drop()
	if c2 := f.connection(t); c2 == c {
		t.Error("no new connection")
	}
}

func TestAnUnansweredSubscriptionIsAskedAgain(t *testing.T) {
	f := newFakeMM(t)
	f.unanswered.Store(2) // the plugin is not enabled yet
	ready := make(chan *Ready, 1)
	startApp(t, f, Options{}, func(a *App) {
		a.unanswered = backoff{min: time.Millisecond, max: time.Millisecond, random: func() float64 { return 0 }}
		a.OnReady(func(ctx context.Context, r *Ready) { ready <- r })
	})
	c := <-f.conns
	for range 3 {
		c.next(t, eventPrefix+"subscribe")
	}
	if r := <-ready; r.Subscribed.ConnectionID != "conn1" {
		t.Errorf("ready after the third subscription: %+v", r)
	}
}

func TestNoExpandSubscribesWithoutIt(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{}, nil)
	sub := (<-f.conns).next(t, eventPrefix+"subscribe")
	if _, ok := sub.Data["expand"]; ok || sub.Data["protocol"] != float64(1) {
		t.Errorf("subscribe data = %s, want protocol 1 and no expand", mustJSON(sub.Data))
	}
}

func TestClickAnsweredInTheAck(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{}, func(a *App) {
		a.Action("approve", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			return &ActionAnswer{Update: &PostUpdate{Message: "Approved by @" + e.UserName}, EphemeralText: "Deploying " + e.Context["release"].(string)}, nil
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(1), map[string]any{"action_id": "approve", "release": "1.4.2"}, true))
	ack := c.ack(t)
	want := map[string]any{"event_id": eventID(1), "answer": map[string]any{
		"update": map[string]any{"message": "Approved by @alice"}, "ephemeral_text": "Deploying 1.4.2"}}
	if !reflect.DeepEqual(ack.Data, want) {
		t.Errorf("ack = %s, want %s", mustJSON(ack.Data), mustJSON(want))
	}
}

func TestAnEventSentAgainRunsItsHandlerOnceAndIsAckedWithTheFirstAnswer(t *testing.T) {
	f := newFakeMM(t)
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	startApp(t, f, Options{}, func(a *App) {
		a.Action("slow", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			calls.Add(1)
			started <- struct{}{}
			<-release
			return &ActionAnswer{EphemeralText: "done"}, nil
		})
	})
	c := f.connection(t)
	ev := actionEvent(eventID(2), map[string]any{"action_id": "slow"}, true)
	c.plugin("action", ev)
	<-started
	// Sent again while the first is being handled (its connection went away, say).
	ev["proxy"].(map[string]any)["delivery"].(map[string]any)["attempt"] = 2
	c.plugin("action", ev)
	close(release)
	first, second := c.ack(t), c.ack(t)
	want := map[string]any{"event_id": eventID(2), "answer": map[string]any{"ephemeral_text": "done"}}
	if !reflect.DeepEqual(first.Data, want) || !reflect.DeepEqual(second.Data, want) {
		t.Errorf("acks %s and %s, want both %s", mustJSON(first.Data), mustJSON(second.Data), mustJSON(want))
	}
	// And once more, long after: acknowledged again from memory.
	c.plugin("action", ev)
	if third := c.ack(t); !reflect.DeepEqual(third.Data, want) {
		t.Errorf("third ack %s", mustJSON(third.Data))
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want once", n)
	}
}

func TestAFailingHandlerIsAckedWithoutAnAnswerAndTheLoopGoesOn(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{}, func(a *App) {
		a.Action("fails", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			return &ActionAnswer{EphemeralText: "ignored"}, errors.New("database down")
		})
		a.Action("panics", func(ctx context.Context, e *Action) (*ActionAnswer, error) { panic("bug") })
		a.Action("fine", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			return &ActionAnswer{EphemeralText: "ok"}, nil
		})
	})
	c := f.connection(t)
	for i, id := range []string{"fails", "panics"} {
		c.plugin("action", actionEvent(eventID(10+i), map[string]any{"action_id": id}, true))
		if ack := c.ack(t); !reflect.DeepEqual(ack.Data, map[string]any{"event_id": eventID(10 + i)}) {
			t.Errorf("%s: ack %s, want one without an answer", id, mustJSON(ack.Data))
		}
	}
	c.plugin("action", actionEvent(eventID(12), map[string]any{"action_id": "fine"}, true))
	if ack := c.ack(t); ack.Data["answer"] == nil {
		t.Errorf("after a panic the next event was acked %s", mustJSON(ack.Data))
	}
}

func TestAnEventWithoutDeliveryIsHandledButNotAcked(t *testing.T) {
	f := newFakeMM(t)
	handled := make(chan string, 2)
	s := startApp(t, f, Options{}, func(a *App) {
		a.Action("x", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			handled <- e.Proxy.EventID
			return &ActionAnswer{EphemeralText: "nobody waits"}, nil
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(3), map[string]any{"action_id": "x"}, false))
	if got := <-handled; got != eventID(3) {
		t.Fatalf("handled %s", got)
	}
	s.flush(t, c) // an ack would have come before the flush marker
	select {
	case m := <-c.got:
		t.Errorf("the bot sent %s %s after an event without delivery", m.Action, mustJSON(m.Data))
	default:
	}
}

func TestAckEarlyThenWork(t *testing.T) {
	f := newFakeMM(t)
	release := make(chan struct{})
	returned := make(chan struct{})
	s := startApp(t, f, Options{}, func(a *App) {
		a.Command("deploy", func(ctx context.Context, e *Command) (*CommandAnswer, error) {
			defer close(returned)
			e.Ack(&CommandAnswer{Text: "Deploying " + e.Text + "…"})
			<-release // the work, after the person has their answer
			return &CommandAnswer{Text: "too late: Ack came first"}, nil
		}, CommandInfo{})
	})
	c := f.connection(t)
	c.plugin("command", map[string]any{"command": "/deploy prod", "trigger": "deploy", "text": "prod", "user_id": testUser,
		"user_name": "alice", "channel_id": "c", "team_id": "t", "root_id": "", "trigger_id": "trig",
		"proxy": map[string]any{"event_id": eventID(4), "received_at": 1, "verified": true, "version": "1.0.0",
			"delivery": map[string]any{"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}}})
	ack := c.ack(t) // before the handler returns
	if want := map[string]any{"text": "Deploying prod…"}; !reflect.DeepEqual(ack.Data["answer"], want) {
		t.Errorf("early ack answer %s, want %s", mustJSON(ack.Data["answer"]), mustJSON(want))
	}
	close(release)
	<-returned
	s.flush(t, c)
	for {
		select {
		case m := <-c.got:
			if m.Action == eventPrefix+"ack" {
				t.Errorf("a second ack %s", mustJSON(m.Data))
			}
			continue
		default:
		}
		break
	}
}

func TestHandlersMatchByWhatUsersName(t *testing.T) {
	f := newFakeMM(t)
	got := make(chan string, 16)
	answer := func(name string) ActionHandler {
		return func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			got <- name + ":" + e.SelectedOption
			return &ActionAnswer{EphemeralText: name}, nil
		}
	}
	var websocketEvents []string
	var wsMu sync.Mutex
	startApp(t, f, Options{}, func(a *App) {
		a.Action("region", answer("action"))
		a.Menu("region", answer("menu"))
		a.ActionContext(map[string]any{"action": "reject", "n": 3}, answer("context"))
		a.Default(func(ctx context.Context, e *Event) (any, error) {
			got <- "default:" + e.Name + ":" + e.Proxy.EventID
			return map[string]any{"ephemeral_text": "default"}, nil
		})
		a.OnWebSocketEvent(func(ev *model.WebSocketEvent) {
			wsMu.Lock()
			websocketEvents = append(websocketEvents, string(ev.EventType()))
			wsMu.Unlock()
		})
	})
	c := f.connection(t)
	cases := []struct {
		context map[string]any
		want    string
	}{
		{map[string]any{"action_id": "region", "selected_option": "eu"}, "menu:eu"},
		{map[string]any{"action_id": "region"}, "action:"},
		{map[string]any{"action": "reject", "n": 3, "other": true}, "context:"},
		{map[string]any{"action": "reject", "n": 4}, "default:action:" + eventID(23)},
		{map[string]any{"action_id": "unknown"}, "default:action:" + eventID(24)},
	}
	for i, tc := range cases {
		c.plugin("action", actionEvent(eventID(20+i), tc.context, true))
		if g := <-got; g != tc.want {
			t.Errorf("context %s went to %q, want %q", mustJSON(tc.context), g, tc.want)
		}
		c.ack(t)
	}
	// An event the library has no type for goes to Default too.
	c.plugin("something_new", map[string]any{"proxy": map[string]any{"event_id": eventID(30)}})
	if g := <-got; g != "default:something_new:"+eventID(30) {
		t.Errorf("a new kind of event went to %q", g)
	}
	// Mattermost's own events go to OnWebSocketEvent, in order.
	c.event("posted", map[string]any{"post": "{}"})
	c.event("typing", map[string]any{})
	c.plugin("action", actionEvent(eventID(31), map[string]any{"action_id": "region"}, true))
	<-got // handled after the two events before it were passed on
	wsMu.Lock()
	defer wsMu.Unlock()
	if want := []string{"hello", "posted", "typing"}; !reflect.DeepEqual(websocketEvents, want) {
		t.Errorf("OnWebSocketEvent got %v, want %v", websocketEvents, want)
	}
}

func TestUnmatchedEventsAreAckedWithoutAnAnswer(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{}, nil)
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(5), map[string]any{"action_id": "nobody"}, true))
	if ack := c.ack(t); !reflect.DeepEqual(ack.Data, map[string]any{"event_id": eventID(5)}) {
		t.Errorf("ack %s", mustJSON(ack.Data))
	}
}

func TestDialogLookupAndRefreshAnswers(t *testing.T) {
	f := newFakeMM(t)
	startApp(t, f, Options{}, func(a *App) {
		a.Dialog("approve", func(ctx context.Context, e *DialogSubmission) (*DialogAnswer, error) {
			switch {
			case e.Cancelled:
				return nil, nil
			case e.Submission["reason"] == "friday":
				return &DialogAnswer{Errors: map[string]string{"reason": "No releases on Fridays."}}, nil
			}
			return &DialogAnswer{Form: &model.Dialog{CallbackId: "step2", Title: "Step 2"}}, nil
		})
		a.Lookup("approve", "approver", func(ctx context.Context, e *DialogLookup) ([]LookupItem, error) {
			if e.Query == "" {
				return nil, nil
			}
			return []LookupItem{{Text: "Carol", Value: "carol"}}, nil
		})
		a.Lookup("approve", "", func(ctx context.Context, e *DialogLookup) ([]LookupItem, error) {
			return []LookupItem{{Value: "any-" + e.SelectedField}}, nil
		})
		a.Refresh("approve", func(ctx context.Context, e *DialogRefresh) (*model.Dialog, error) {
			if e.Submission["kind"] == "same" {
				return nil, nil
			}
			return &model.Dialog{CallbackId: "approve", Title: "Redrawn"}, nil
		})
	})
	c := f.connection(t)
	delivery := map[string]any{"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}
	proxy := func(n int) map[string]any {
		return map[string]any{"event_id": eventID(n), "received_at": 1, "verified": true, "version": "1.0.0", "delivery": delivery}
	}
	form := func(n int, submission map[string]any, cancelled bool) map[string]any {
		return map[string]any{"callback_id": "approve", "state": "p", "submission": submission, "user_id": testUser,
			"user_name": "alice", "channel_id": "c", "team_id": "t", "cancelled": cancelled, "proxy": proxy(n)}
	}
	lookup := func(n int, field, query string) map[string]any {
		return map[string]any{"callback_id": "approve", "state": "p", "selected_field": field, "query": query,
			"submission": map[string]any{}, "user_id": testUser, "channel_id": "c", "team_id": "t", "proxy": proxy(n)}
	}
	cases := []struct {
		name  string
		event string
		data  map[string]any
		want  any // the answer; nil: none
	}{
		{"field error", "dialog_submission", form(40, map[string]any{"reason": "friday"}, false),
			map[string]any{"errors": map[string]any{"reason": "No releases on Fridays."}}},
		{"next form", "dialog_submission", form(41, map[string]any{"reason": "ok"}, false),
			map[string]any{"type": "form", "form": normalized(model.Dialog{CallbackId: "step2", Title: "Step 2"})}},
		{"cancelled", "dialog_submission", form(42, map[string]any{}, true), nil},
		{"lookup items", "dialog_lookup", lookup(43, "approver", "ca"), map[string]any{"items": []any{map[string]any{"text": "Carol", "value": "carol"}}}},
		{"lookup nothing is an empty list", "dialog_lookup", lookup(44, "approver", ""), map[string]any{"items": []any{}}},
		{"lookup of another field", "dialog_lookup", lookup(45, "region", "e"), map[string]any{"items": []any{map[string]any{"value": "any-region"}}}},
		{"refresh", "dialog_refresh", form(46, map[string]any{"kind": "new"}, false),
			map[string]any{"type": "form", "form": normalized(model.Dialog{CallbackId: "approve", Title: "Redrawn"})}},
		{"refresh unchanged", "dialog_refresh", form(47, map[string]any{"kind": "same"}, false), map[string]any{}},
	}
	for _, tc := range cases {
		c.plugin(tc.event, tc.data)
		ack := c.ack(t)
		if !reflect.DeepEqual(ack.Data["answer"], tc.want) {
			t.Errorf("%s: answer %s, want %s", tc.name, mustJSON(ack.Data["answer"]), mustJSON(tc.want))
		}
	}
}

func TestCommandsRegisteredOnceSubscribedAndNotAgainOnReconnect(t *testing.T) {
	f := newFakeMM(t)
	f.reply("POST /api/v1/commands", func(body map[string]any) (int, string) {
		if body["trigger"] == "echo" {
			return http.StatusConflict, `{"error":{"code":"command_taken","message":"/echo is a built-in command"}}`
		}
		return http.StatusOK, `{"command":{"trigger":"` + body["trigger"].(string) + `"}}`
	})
	ready := make(chan *Ready, 2)
	s := startApp(t, f, Options{}, func(a *App) {
		noop := func(ctx context.Context, e *Command) (*CommandAnswer, error) {
			return &CommandAnswer{ResponseType: InChannel, Text: "/" + e.Trigger + " " + e.Text}, nil
		}
		a.Command("/Release", noop, CommandInfo{DisplayName: "Release", Description: "Release it", Hint: "[version]"})
		a.Command("echo", noop, CommandInfo{NoAutocomplete: true})
		a.OnReady(func(ctx context.Context, r *Ready) { ready <- r })
	})
	c := f.connection(t)
	r := <-ready
	calls := map[string]map[string]any{}
	for range 2 {
		call := f.call(t, "POST /api/v1/commands")
		calls[call.Body["trigger"].(string)] = call.Body
	}
	if want := map[string]any{"trigger": "release", "display_name": "Release", "description": "Release it", "hint": "[version]", "autocomplete": true}; !reflect.DeepEqual(calls["release"], want) {
		t.Errorf("registered %s, want %s", mustJSON(calls["release"]), mustJSON(want))
	}
	if calls["echo"]["autocomplete"] != false {
		t.Errorf("echo registered %s, want autocomplete false", mustJSON(calls["echo"]))
	}
	var apiErr *APIError
	if r.Commands["release"] != nil || !errors.As(r.Commands["echo"], &apiErr) || apiErr.Code != "command_taken" || apiErr.Status != http.StatusConflict {
		t.Errorf("Ready.Commands = %v, want release registered and echo command_taken", r.Commands)
	}
	if r.BotUserID != testBot || r.Subscribed.ConnectionID != "conn1" || r.Subscribed.AnswerWindowMs != 2500 {
		t.Errorf("Ready = %+v", r)
	}

	// Typed: answered by its handler.
	c.plugin("command", map[string]any{"command": "/release 1.4.3", "trigger": "release", "text": "1.4.3", "user_id": testUser,
		"user_name": "alice", "channel_id": "c", "team_id": "t", "root_id": "", "trigger_id": "trig",
		"proxy": map[string]any{"event_id": eventID(50), "received_at": 1, "verified": true, "version": "1.0.0",
			"delivery": map[string]any{"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}}})
	if ack := c.ack(t); !reflect.DeepEqual(ack.Data["answer"], map[string]any{"response_type": "in_channel", "text": "/release 1.4.3"}) {
		t.Errorf("command answer %s", mustJSON(ack.Data["answer"]))
	}

	// Reconnected and subscribed again: the registry is the plugin's, nothing is registered again.
	c.drop()
	c2 := f.connection(t)
	s.flush(t, c2)
	select {
	case call := <-f.rest:
		t.Errorf("after a reconnect the bot called %s %s", call.Method, call.Path)
	default:
	}
	select {
	case r := <-ready:
		t.Errorf("OnReady called again: %+v", r)
	default:
	}

	// Removed: DELETE, and the handler is gone.
	if err := s.RemoveCommand(context.Background(), "release"); err != nil {
		t.Fatal(err)
	}
	f.call(t, "DELETE /api/v1/commands/release")
	c2.plugin("command", map[string]any{"command": "/release", "trigger": "release", "text": "", "user_id": testUser,
		"user_name": "alice", "channel_id": "c", "team_id": "t", "root_id": "", "trigger_id": "trig",
		"proxy": map[string]any{"event_id": eventID(51), "received_at": 1, "verified": true, "version": "1.0.0",
			"delivery": map[string]any{"attempt": 1, "ack": "required", "answer_within_ms": 2500, "first_sent_at": 1}}})
	if ack := c2.ack(t); ack.Data["answer"] != nil {
		t.Errorf("a removed command was answered %s", mustJSON(ack.Data["answer"]))
	}
}

func TestAckFallsBackToRESTWhenTheSocketIsDown(t *testing.T) {
	f := newFakeMM(t)
	release := make(chan struct{})
	started := make(chan struct{})
	s := startApp(t, f, Options{}, func(a *App) {
		a.Action("slow", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			close(started)
			<-release
			return &ActionAnswer{EphemeralText: "late but there"}, nil
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(6), map[string]any{"action_id": "slow"}, true))
	<-started
	f.refuseSockets.Store(true) // Mattermost is restarting: no websocket for now
	c.drop()
	waitFor(t, "the bot to notice the connection is gone", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.live == nil
	})
	close(release)
	call := f.call(t, "POST /api/v1/ack")
	want := map[string]any{"event_id": eventID(6), "answer": map[string]any{"ephemeral_text": "late but there"}}
	if !reflect.DeepEqual(call.Body, want) {
		t.Errorf("REST ack %s, want %s", mustJSON(call.Body), mustJSON(want))
	}
}

func TestCleanShutdownFinishesRunningHandlersAndTheirAcks(t *testing.T) {
	f := newFakeMM(t)
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	s := startApp(t, f, Options{}, func(a *App) {
		a.Action("work", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			calls.Add(1)
			started <- struct{}{}
			<-release
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return &ActionAnswer{EphemeralText: "finished"}, nil
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(7), map[string]any{"action_id": "work"}, true))
	<-started
	s.cancel()
	c.next(t, eventPrefix+"unsubscribe") // no new events for this connection
	// An event that still comes is left to the plugin: not handled, not acknowledged.
	c.plugin("action", actionEvent(eventID(8), map[string]any{"action_id": "work"}, true))
	select {
	case <-s.done:
		t.Fatal("Run returned while a handler was running")
	default:
	}
	close(release)
	ack := c.ack(t) // on the socket, still open
	if ack.Data["event_id"] != eventID(7) || ack.Data["answer"] == nil {
		t.Errorf("ack %s, want %s answered", mustJSON(ack.Data), eventID(7))
	}
	<-s.done
	if s.err != nil {
		t.Errorf("Run returned %v", s.err)
	}
	for m := range c.got { // until the bot closed the connection
		if m.Action == eventPrefix+"ack" {
			t.Errorf("after the shutdown began the bot acknowledged %s", mustJSON(m.Data))
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d handlers ran, want 1", n)
	}
}

func TestAShutdownWhileDisconnectedStillFinishesTheHandlers(t *testing.T) {
	f := newFakeMM(t)
	release := make(chan struct{})
	started := make(chan struct{})
	s := startApp(t, f, Options{}, func(a *App) {
		a.Action("slow", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			close(started)
			<-release
			return &ActionAnswer{EphemeralText: "done"}, nil
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(13), map[string]any{"action_id": "slow"}, true))
	<-started
	f.refuseSockets.Store(true)
	c.drop()
	waitFor(t, "the bot to notice the connection is gone", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.live == nil
	})
	s.cancel()
	select {
	case <-s.done:
		t.Fatal("Run returned while a handler was running")
	default:
	}
	close(release)
	if call := f.call(t, "POST /api/v1/ack"); call.Body["event_id"] != eventID(13) {
		t.Errorf("REST ack %s", mustJSON(call.Body))
	}
	<-s.done
}

func TestShutdownTimeoutCancelsTheHandlers(t *testing.T) {
	f := newFakeMM(t)
	started := make(chan struct{})
	s := startApp(t, f, Options{ShutdownTimeout: time.Millisecond}, func(a *App) {
		a.Action("stuck", func(ctx context.Context, e *Action) (*ActionAnswer, error) {
			close(started)
			<-ctx.Done() // cancelled once the shutdown timeout passed
			return nil, ctx.Err()
		})
	})
	c := f.connection(t)
	c.plugin("action", actionEvent(eventID(9), map[string]any{"action_id": "stuck"}, true))
	<-started
	s.cancel()
	<-s.done
	if s.err != nil {
		t.Errorf("Run returned %v", s.err)
	}
}

func TestARefusedTokenEndsRun(t *testing.T) {
	f := newFakeMM(t)
	a := New(f.srv.URL, "wrong", Options{})
	if err := a.Run(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Run = %v, want ErrUnauthorized", err)
	}
	if err := a.Run(context.Background()); err == nil {
		t.Error("a second Run did not fail")
	}
	if err := New("chat.example.com", testToken, Options{}).Run(context.Background()); err == nil {
		t.Error("Run without a scheme in the site URL did not fail")
	}
}

func TestAnswersAreCheckedByThePluginAndRefusalsLogged(t *testing.T) {
	f := newFakeMM(t)
	logs := &logSink{}
	s := startApp(t, f, Options{Logger: logs.logger()}, nil)
	c := f.connection(t)
	c.plugin("error", map[string]any{"action": "ack", "seq": 7, "event_id": eventID(1),
		"error": map[string]any{"code": "bad_answer", "message": "`update.id` cannot be changed"}})
	s.flush(t, c)
	waitFor(t, "the refusal to be logged", func() bool { return logs.has("bad_answer") })
}

// waitFor polls cond until it holds (the test fails after 10 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited for %s in vain", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// No handler starts once the shutdown waits for the running ones: the connection is read on a
// goroutine of its own, and an event read just as Run's context is cancelled must either be
// counted before the shutdown's wait (and finish before Run returns) or be left to the plugin,
// which sends it again. Events arrive at varying moments around the cancellation, many times;
// under the race detector (make test-lib-go) a handler admitted after the wait is also reported
// as a race on the WaitGroup.
func TestNoHandlerRunsAfterRunReturned(t *testing.T) {
	for i := range 200 {
		f := newFakeMM(t)
		var returned, ranLate atomic.Bool
		s := startApp(t, f, Options{}, func(a *App) {
			a.Action("work", func(context.Context, *Action) (*ActionAnswer, error) {
				if returned.Load() {
					ranLate.Store(true)
				}
				return nil, nil
			})
		})
		c := f.connection(t)
		go c.plugin("action", actionEvent(eventID(i), map[string]any{"action_id": "work"}, true))
		time.Sleep(time.Duration(i%40) * 5 * time.Microsecond)
		s.cancel()
		<-s.done
		returned.Store(true)
		time.Sleep(2 * time.Millisecond) // a handler started late would run now
		if ranLate.Load() {
			t.Fatalf("round %d: a handler ran after Run returned", i)
		}
		f.srv.Close()
	}
}
