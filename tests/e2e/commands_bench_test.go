package e2e_test

// TestCommandBench (SPEC §8, §12; `make e2e-bench`): a slash command answered by a websocket
// bot through the plugin, against the same answer from a native custom slash command whose URL
// is an HTTP server on loopback, alternating A B C in one run. The measure is Mattermost's
// execute API round trip (`POST /api/v4/commands/execute`): it returns once the answer is
// shown (the ephemeral text sent to the person), for both. Plus the round trip of a dynamic
// select's lookup (`POST /api/v4/actions/dialogs/lookup`) answered by the bot, against a native
// lookup URL on loopback.
//
// Prints an "E2E-BENCH" block, also written to $E2E_RUN_DIR/command-bench.txt.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go/socketmode"

	"e2e/harness"
)

var (
	commandBenchRounds  = benchSize(6, 1)
	commandBenchPerSide = benchSize(40, 3)
	lookupBenchN        = benchSize(200, 3)
)

// benchCommandText is what both sides answer a command with.
func benchCommandText(text string) string { return "Release " + text + " is waiting for approval." }

// benchItems is what both sides answer a lookup with.
func benchItems(query string) []map[string]string {
	return []map[string]string{{"text": "Carol " + query, "value": "carol"}, {"text": "Dave " + query, "value": "dave"}}
}

// nativeCommandServer is a custom slash command's and a lookup's HTTP server on loopback.
func nativeCommandServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/command", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"response_type": "ephemeral", "text": benchCommandText(r.Form.Get("text"))})
	})
	mux.HandleFunc("/lookup", func(w http.ResponseWriter, r *http.Request) {
		var req model.SubmitDialogRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		q, _ := req.Submission["query"].(string)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": benchItems(q)})
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// restAckingCommandBot subscribes bot and answers its commands and lookups in the ack, posted
// to POST /api/v1/ack and timed into acks.
func restAckingCommandBot(t *testing.T, bot *harness.Account, acks *restAcks) {
	t.Helper()
	s := openSocket(t, bot)
	s.subscribe(t)
	answerCommandsAndLookups(t, s, bot, acks)
}

// answerCommandsAndLookups answers, on the subscribed socket s of bot, every command and lookup
// over REST, timed into acks.
func answerCommandsAndLookups(t *testing.T, s *socket, bot *harness.Account, acks *restAcks) {
	go func() {
		for {
			ev, err := harness.Await(s.events, time.Hour, func(ev *model.WebSocketEvent) bool {
				typ := string(ev.EventType())
				return typ == commandEvent || typ == dialogLookupEvent
			})
			if err != nil {
				return
			}
			data := ev.GetData()
			proxy, _ := data["proxy"].(map[string]any)
			var answer map[string]any
			if string(ev.EventType()) == commandEvent {
				text, _ := data["text"].(string)
				answer = map[string]any{"response_type": "ephemeral", "text": benchCommandText(text)}
			} else {
				q, _ := data["query"].(string)
				answer = map[string]any{"items": benchItems(q)}
			}
			acks.post(t, ackPath, bot, fmt.Sprint(proxy["event_id"]), answer)
		}
	}()
}

// libraryCommandBot runs the Go library's bot for bot, serving /trigger (registered by the
// library when it starts) with benchCommandText, until the test ends.
func libraryCommandBot(t *testing.T, bot *harness.Account, trigger string) {
	t.Helper()
	app := socketmode.New(env.SiteURL, bot.Token, socketmode.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ready := make(chan error, 1)
	app.OnReady(func(_ context.Context, r *socketmode.Ready) {
		var err error
		for _, e := range r.Commands {
			err = errors.Join(err, e)
		}
		select {
		case ready <- err:
		default:
		}
	})
	app.Command(trigger, func(_ context.Context, e *socketmode.Command) (*socketmode.CommandAnswer, error) {
		return &socketmode.CommandAnswer{Text: benchCommandText(e.Text)}, nil
	}, socketmode.CommandInfo{Description: "bench"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = app.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("the library's bot could not register /%s: %v", trigger, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the library's bot did not subscribe")
	}
}

// libraryLookupBot runs the Go library's bot for bot: it posts a button that opens a dialog
// with a dynamic select, and answers the select's lookups with benchItems, on its websocket
// (its Nagle remedy on, as by default). It returns the dialog's session once alice clicked.
func libraryLookupBot(t *testing.T, bot *harness.Account) string {
	t.Helper()
	app := socketmode.New(env.SiteURL, bot.Token, socketmode.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	posted, sessions := make(chan string, 1), make(chan string, 1)
	app.OnReady(func(ctx context.Context, _ *socketmode.Ready) {
		a := &model.SlackAttachment{Text: "Deploy?", Actions: []*model.PostAction{{Id: "lkopen", Name: "Open", Type: model.PostActionTypeButton}}}
		post, err := app.Post(ctx, env.Channel.Id, "Lookups", a)
		if err != nil {
			t.Errorf("the library's bot could not post: %v", err)
			return
		}
		select {
		case posted <- post.Id:
		default:
		}
	})
	app.Action("lkopen", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
		s, err := app.OpenDialog(ctx, e, model.Dialog{CallbackId: "deploy-lib", Title: "Deploy",
			Elements: []model.DialogElement{{DisplayName: "Approver", Name: "approver", Type: "select", DataSource: "dynamic", Optional: true}}})
		if err == nil {
			sessions <- s.SessionID
		}
		return nil, err
	})
	app.Lookup("deploy-lib", "approver", func(_ context.Context, e *socketmode.DialogLookup) ([]socketmode.LookupItem, error) {
		var items []socketmode.LookupItem
		for _, it := range benchItems(e.Query) {
			items = append(items, socketmode.LookupItem{Text: it["text"], Value: it["value"]})
		}
		return items, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = app.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var postID string
	select {
	case postID = <-posted:
	case <-time.After(30 * time.Second):
		t.Fatal("the library's bot did not post")
	}
	clickDone(t, clickAsync(env.Users[0], postID, "lkopen", ""))
	select {
	case s := <-sessions:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the library's bot did not open its dialog")
	}
	return ""
}

func TestCommandBench(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	alice := env.Users[0]
	report := &benchReport{t: t}
	add := report.add
	add("real Mattermost %s + %s %s, %d CPUs, PostgreSQL; bots: the Go library's (libs/go), the REST-acking one on model.WebSocketClient",
		mmVersion(), pluginID, pluginVersion, runtime.NumCPU())

	allowLoopbackIntegrations(t)
	base := nativeCommandServer(t)
	wsBot, restBot := newDeliveryBot(t, "benchcmd"), newDeliveryBot(t, "benchcmdrest")
	wsTrigger, restTrigger, nativeTrigger := uniqueTrigger("bws"), uniqueTrigger("brest"), uniqueTrigger("bnat")
	// The websocket side is a bot on the Go library (its Nagle remedy on, as by default).
	libraryCommandBot(t, wsBot, wsTrigger)
	acks := &restAcks{}
	restAckingCommandBot(t, restBot, acks)
	if status, body := registerCommand(t, restBot, restTrigger); status != http.StatusOK {
		t.Fatalf("register /%s: HTTP %d %s", restTrigger, status, mustJSON(body))
	}
	if _, _, err := env.Admin.Client.CreateCommand(ctx, &model.Command{TeamId: env.Team.Id, Trigger: nativeTrigger,
		Method: model.CommandMethodPost, URL: base + "/command", DisplayName: "native", AutoComplete: false}); err != nil {
		t.Fatalf("creating the native command: %v", err)
	}

	run := func(command func(text string) string) []time.Duration {
		out := make([]time.Duration, 0, commandBenchPerSide)
		for i := range commandBenchPerSide {
			text := fmt.Sprint("1.4.", i)
			start := time.Now()
			status, res := execute(t, alice, command(text))
			out = append(out, time.Since(start))
			if status != http.StatusOK || res["text"] != benchCommandText(text) {
				t.Fatalf("%s: HTTP %d %s", command(text), status, mustJSON(res))
			}
		}
		return out
	}
	slash := func(trigger string) func() []time.Duration {
		return func() []time.Duration { return run(func(text string) string { return "/" + trigger + " " + text }) }
	}
	sides := []func() []time.Duration{slash(wsTrigger), slash(restTrigger), slash(nativeTrigger)}
	for _, side := range sides {
		side() // warm every path
	}
	acks.taken() // the warm-up's
	benchSidesRun(add, "command", "execute -> answer shown", commandBenchRounds,
		[]string{"plugin, library bot acking on the websocket", "plugin, bot acking over REST", "native HTTP command"}, sides)
	acks.report(add, "command")

	// --- lookups: a dialog opened through the plugin, its dynamic select answered by the bot.
	r := newAnswerRig(t, "benchlk")
	def := deployDialog("lk", false)
	def["elements"] = append(def["elements"].([]any), map[string]any{"display_name": "Approver", "name": "approver", "type": "select", "data_source": "dynamic", "optional": true})
	o := r.open(t, def)
	lookupAcks := &restAcks{}
	answerCommandsAndLookups(t, r.botWS, r.bot, lookupAcks)
	lookupURL := dialogPathPrefix + o.SessionID + "/lookup"
	lookup := func(url string, i int) time.Duration {
		q := fmt.Sprint("q", i)
		body := map[string]any{"url": url, "callback_id": "deploy-42", "state": "lk", "user_id": alice.ID(),
			"channel_id": env.Channel.Id, "team_id": env.Team.Id, "submission": map[string]any{"query": q, "selected_field": "approver"}}
		start := time.Now()
		status, out, err := call(http.MethodPost, dialogLookupAPI, alice.Token, body)
		took := time.Since(start)
		items, _ := jsonObject(out)["items"].([]any)
		if err != nil || status != http.StatusOK || len(items) != 2 {
			t.Fatalf("lookup %s: HTTP %d %v %s", url, status, err, out)
		}
		return took
	}
	// The same through the Go library's bot, answering on its websocket.
	libURL := dialogPathPrefix + libraryLookupBot(t, newDeliveryBot(t, "benchlklib")) + "/lookup"
	// lookups alternates the lookups of urls, one of each in turn, and returns each one's p50
	// and p95.
	lookups := func(urls ...string) (p50, p95 []time.Duration) {
		for _, u := range urls {
			lookup(u, -1) // warm every path
		}
		all := make([][]time.Duration, len(urls))
		for i := range lookupBenchN {
			for j, u := range urls {
				all[j] = append(all[j], lookup(u, i))
			}
		}
		p50, p95 = make([]time.Duration, len(urls)), make([]time.Duration, len(urls))
		for j := range urls {
			p50[j], p95[j], _ = percentiles(all[j])
		}
		return p50, p95
	}
	p50, p95 := lookups(lookupURL, libURL, base+"/lookup")
	lookupAcks.report(add, "lookup")
	add("lookup: %d lookups a side, alternating (A B C): plugin + websocket bot (REST ack) p50 %s p95 %s; plugin + the Go library's bot (ack on the websocket) p50 %s p95 %s; native lookup URL p50 %s p95 %s; ratios p50 %.2f, %.2f",
		lookupBenchN, ms(p50[0]), ms(p95[0]), ms(p50[1]), ms(p95[1]), ms(p50[2]), ms(p95[2]), float64(p50[0])/float64(p50[2]), float64(p50[1])/float64(p50[2]))

	// Commands and lookups beside the floor: the least any plugin can do (floor_bench_test.go).
	withFloor(t, func(floorAcc *harness.Account) {
		floorSide := func(trigger string) func() []time.Duration {
			return func() []time.Duration {
				return run(func(text string) string { return "/" + trigger + " " + floorAcc.ID() + " " + text })
			}
		}
		floorSide(floorTrigger)()
		floorSide(floorReadTrigger)()
		names := []string{"plugin, library bot acking on the websocket", "floor plugin, bot acking on the websocket",
			"floor plugin reading the team's commands first", "native HTTP command"}
		p50s := benchSidesRun(add, "command beside the floor", "execute -> answer shown", commandBenchRounds, names,
			[]func() []time.Duration{slash(wsTrigger), floorSide(floorTrigger), floorSide(floorReadTrigger), slash(nativeTrigger)})
		reportOverFloor(add, "command beside the floor", names, p50s, 1, 0)
		reportOverFloor(add, "command beside the floor that reads the team's commands", names, p50s, 2, 0)

		p50, p95 := lookups(libURL, floorURL(floorAcc, "lookup"), base+"/lookup")
		add("lookup beside the floor: %d lookups a side, alternating (A B C): plugin + the Go library's bot (ack on the websocket) p50 %s p95 %s; floor plugin, bot acking on the websocket p50 %s p95 %s; native lookup URL p50 %s p95 %s; ratios p50 %.2f, %.2f",
			lookupBenchN, ms(p50[0]), ms(p95[0]), ms(p50[1]), ms(p95[1]), ms(p50[2]), ms(p95[2]), float64(p50[0])/float64(p50[2]), float64(p50[1])/float64(p50[2]))
		reportOverFloor(add, "lookup beside the floor", []string{"plugin + the Go library's bot (ack on the websocket)", "floor plugin, bot acking on the websocket"}, p50, 1, 0)
	})

	writeBenchReport(t, "command-bench.txt", report.lines)
}
