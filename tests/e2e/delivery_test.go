package e2e_test

// Delivery guarantees (SPEC §9) on the real server, with the Go client bots use
// (model.WebSocketClient): subscribe, one delivery per event, acks over the websocket and
// REST, the bot's answer becoming the click's response, the offline and slow-bot notices,
// replicas, a bot process killed mid-stream, kept events surviving plugin and server
// restarts, and the hostile cases. The Python and JavaScript clients go through the same
// protocol in examples_test.go.
//
// Each test has bots of its own: a bot that subscribed is remembered for the keep period, and
// its clicks change shape (kept, notices), so a shared bot would change the other tests.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

var (
	subscribeAction   = "custom_" + pluginID + "_subscribe"
	unsubscribeAction = "custom_" + pluginID + "_unsubscribe"
	ackAction         = "custom_" + pluginID + "_ack"
	subscribedEvent   = "custom_" + pluginID + "_subscribed"
	unsubscribedEvent = "custom_" + pluginID + "_unsubscribed"
	ackResultEvent    = "custom_" + pluginID + "_ack_result"
	errorEvent        = "custom_" + pluginID + "_error"
	resubscribeEvent  = "custom_" + pluginID + "_resubscribe"
	ackPath           = "/plugins/" + pluginID + "/api/v1/ack"
	statusPath        = "/plugins/" + pluginID + "/api/v1/status"
	adminStatusPath   = "/plugins/" + pluginID + "/api/v1/admin/status"
)

// What the clicker reads (src/refusal.rs, Notice).
const (
	offlineNotice     = "The bot is offline right now. Your click is kept and will reach it as soon as it is back."
	notAnsweredNotice = "The bot has not answered yet. It has your click and will answer when it can."
)

// newDeliveryBot is a bot of the test's own, in the e2e team and channel.
func newDeliveryBot(t testing.TB, prefix string) *harness.Account {
	t.Helper()
	bot, err := env.NewBot(context.Background(), prefix+"-"+strings.ToLower(model.NewId()[:6]))
	if err != nil {
		t.Fatal(err)
	}
	return bot
}

// subscribe subscribes the connection and returns the subscribed event's data.
func (s *socket) subscribe(t testing.TB) map[string]any {
	t.Helper()
	s.ws.SendMessage(subscribeAction, map[string]any{"protocol": 1})
	return s.mustNext(t, subscribedEvent, 10*time.Second).GetData()
}

// ack acknowledges an event on the websocket, with an answer unless nil, asking for the
// ack_result the tests read.
func (s *socket) ack(eventID string, answer map[string]any) {
	data := map[string]any{"event_id": eventID, "result": true}
	if answer != nil {
		data["answer"] = answer
	}
	s.ws.SendMessage(ackAction, data)
}

// ackQuiet acknowledges as a bot does by default: no ack_result (the benchmarks' bots).
func (s *socket) ackQuiet(eventID string, answer map[string]any) {
	s.ws.SendMessage(ackAction, map[string]any{"event_id": eventID, "answer": answer})
}

// ackResult waits for what became of the acknowledgement of eventID.
func (s *socket) ackResult(t testing.TB, eventID string) string {
	t.Helper()
	ev, err := harness.Await(s.events, 10*time.Second, func(ev *model.WebSocketEvent) bool {
		return string(ev.EventType()) == ackResultEvent && ev.GetData()["event_id"] == eventID
	})
	if err != nil {
		t.Fatalf("%s: no ack_result for %s: %v", s.name, eventID, err)
	}
	if err := checkSchema(ev); err != nil {
		t.Fatal(err)
	}
	status, _ := ev.GetData()["status"].(string)
	return status
}

// socketError waits for the plugin's error event on s and returns its code.
func (s *socket) socketError(t testing.TB) (code, message string) {
	t.Helper()
	ev := s.mustNext(t, errorEvent, 10*time.Second)
	e, _ := ev.GetData()["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

// delivered is an event of a subscribed bot, as received.
type delivered struct {
	EventID     string
	Attempt     int
	WindowMs    int
	FirstSentAt int64
	Data        map[string]any
	Received    time.Time
}

// Option is the menu option the click chose (the tests number their clicks with it).
func (d delivered) Option() string {
	ctx, _ := d.Data["context"].(map[string]any)
	s, _ := ctx["selected_option"].(string)
	return s
}

// deliveryOf reads proxy.delivery of a subscribed bot's event.
func deliveryOf(t testing.TB, ev *model.WebSocketEvent) delivered {
	t.Helper()
	data := ev.GetData()
	proxy, _ := data["proxy"].(map[string]any)
	d, ok := proxy["delivery"].(map[string]any)
	if !ok {
		t.Fatalf("event without proxy.delivery for a subscribed bot: %s", mustJSON(data))
	}
	if d["ack"] != "required" {
		t.Errorf("proxy.delivery.ack = %v, want required", d["ack"])
	}
	num := func(k string) int64 { f, _ := d[k].(float64); return int64(f) }
	id, _ := proxy["event_id"].(string)
	return delivered{EventID: id, Attempt: int(num("attempt")), WindowMs: int(num("answer_within_ms")),
		FirstSentAt: num("first_sent_at"), Data: data, Received: time.Now()}
}

// nextAction waits for the next click event on s.
func (s *socket) nextAction(t testing.TB, timeout time.Duration) delivered {
	t.Helper()
	return deliveryOf(t, s.mustNext(t, actionEvent, timeout))
}

// withoutDelivery is the event's data as a bot that never subscribed gets it.
func withoutDelivery(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	proxy := map[string]any{}
	for k, v := range data["proxy"].(map[string]any) {
		if k != "delivery" {
			proxy[k] = v
		}
	}
	out["proxy"] = proxy
	return out
}

// clickAsync clicks in the background: a click for a subscribed bot waits for its answer.
func clickAsync(acc *harness.Account, postID, actionID, selected string) <-chan clickResult {
	ch := make(chan clickResult, 1)
	go func() {
		r, err := click(acc, postID, actionID, selected)
		if err != nil {
			r.Status, r.Body = -1, []byte(err.Error())
		}
		ch <- r
	}()
	return ch
}

// clickDone waits for a background click and checks that Mattermost answered it 200.
func clickDone(t testing.TB, ch <-chan clickResult) clickResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.Status != http.StatusOK {
			t.Fatalf("click: HTTP %d: %s", r.Status, r.Body)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("click: no answer within 30 s")
	}
	return clickResult{}
}

// numberedMenu is a menu whose options 0..n-1 number the clicks made on it.
func numberedMenu(bot *harness.Account, n int) map[string]any {
	values := make([]string, n)
	for i := range values {
		values[i] = strconv.Itoa(i)
	}
	return staticSelect("pick", "Pick", map[string]any{"user_id": bot.ID()}, values...)
}

// waitPostMessage polls the post until its message is want, and returns it.
func waitPostMessage(t testing.TB, acc *harness.Account, postID, want string) *model.Post {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, _, err := acc.Client.GetPost(context.Background(), postID, "")
		if err != nil {
			t.Fatalf("get post %s: %v", postID, err)
		}
		if p.Message == want {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("post %s message is %q, want %q", postID, p.Message, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// botStatus is GET /api/v1/status with the bot's token.
func botStatus(t testing.TB, bot *harness.Account) map[string]any {
	t.Helper()
	status, out, err := call(http.MethodGet, statusPath, bot.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET %s as %s: HTTP %d %v: %s", statusPath, bot.User.Username, status, err, out)
	}
	return jsonObject(out)
}

// liveConnections counts the bot's live subscribed connections in its status.
func liveConnections(st map[string]any) int {
	n := 0
	conns, _ := st["connections"].([]any)
	for _, c := range conns {
		if m, _ := c.(map[string]any); m["live"] == true {
			n++
		}
	}
	return n
}

// waitStatus polls the bot's status until it has live connections and kept events (-1: any
// number): a closed websocket reaches the plugin through OnWebSocketDisconnect, and an ack
// through the bot's own websocket, a moment after they happen.
func waitStatus(t testing.TB, bot *harness.Account, live, kept int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := botStatus(t, bot)
		k, _ := st["kept"].(float64)
		if (live < 0 || liveConnections(st) == live) && (kept < 0 || int(k) == kept) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %s, want %d live connections and %d kept events", bot.User.Username, mustJSON(st), live, kept)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLive is waitStatus for the connections alone.
func waitLive(t testing.TB, bot *harness.Account, n int) map[string]any {
	t.Helper()
	return waitStatus(t, bot, n, -1)
}

// setAnswerWindow changes the AnswerWindowMs setting for the rest of the test.
func setAnswerWindow(t *testing.T, ms int) {
	t.Helper()
	saved := pluginSection(t)
	section := map[string]any{}
	for k, v := range saved {
		section[k] = v
	}
	section["answerwindowms"] = ms
	setPluginSection(t, section)
	t.Cleanup(func() { setPluginSection(t, saved) })
}

// §9.1–9.3: a subscribed bot's click waits for the bot's answer, which becomes the click's
// response: the post is updated (read back through REST) and the clicker sees the text. A
// second ack changes nothing; an ack over REST works as well as one over the websocket.
func TestDeliveryAnswerBecomesTheClickResponse(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "answers"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)

	sub := botWS.subscribe(t)
	if id, _ := sub["connection_id"].(string); id == "" || sub["answer_window_ms"] != float64(2500) || sub["kept"] != float64(0) {
		t.Fatalf("subscribed = %s, want a connection id, answer_window_ms 2500 and kept 0", mustJSON(sub))
	}
	if st := botStatus(t, bot); st["subscribed"] != true || liveConnections(st) != 1 || st["kept"] != float64(0) {
		t.Errorf("status after subscribing = %s, want subscribed with one live connection", mustJSON(st))
	}

	bctx := map[string]any{"user_id": bot.ID(), "release": "1.4.2"}
	post := createPost(t, bot, "", "Release 1.4.2 is ready.", button("deploy", "Deploy", bctx))
	pending := clickAsync(alice, post.Id, "deploy", "")
	d := botWS.nextAction(t, 10*time.Second)
	if d.Attempt != 1 || d.WindowMs != 2500 {
		t.Errorf("delivery = attempt %d, answer within %d ms; want attempt 1 within 2500", d.Attempt, d.WindowMs)
	}
	checkEvent(t, "subscribed bot", withoutDelivery(d.Data), wantData(alice, post, "button", "", bctx), clickResult{Sent: time.Now().Add(-10 * time.Second)}, true, d.Received)

	answer := map[string]any{"update": map[string]any{"message": "Deployed by @alice"}, "ephemeral_text": "Deploying 1.4.2 now."}
	if err := validateData("ack", map[string]any{"event_id": d.EventID, "answer": answer}); err != nil {
		t.Fatalf("the ack this test sends: %v", err)
	}
	botWS.ack(d.EventID, answer)
	if got := botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("ack_result = %q, want applied", got)
	}
	c := clickDone(t, pending)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Deploying 1.4.2 now." {
		t.Errorf("alice read %q, want the bot's ephemeral_text", p.Message)
	}
	updated := waitPostMessage(t, alice, post.Id, "Deployed by @alice")
	if a := updated.Attachments(); len(a) != 1 || len(a[0].Actions) != 1 || a[0].Actions[0].Id != "deploy" {
		t.Errorf("the updated post lost its button: %s", mustJSON(updated.GetProps()))
	}
	t.Logf("click answered by the bot in %s (one round trip: click, event, ack, response)", c.Done.Sub(c.Sent).Round(time.Millisecond))

	// A second ack is ignored.
	botWS.ack(d.EventID, map[string]any{"ephemeral_text": "again"})
	if got := botWS.ackResult(t, d.EventID); got != "duplicate" {
		t.Errorf("second ack_result = %q, want duplicate", got)
	}
	aliceWS.expectNone(t, ephemeralEv, 500*time.Millisecond)

	// The same over REST, with the bot's token.
	pending = clickAsync(alice, post.Id, "deploy", "")
	d = botWS.nextAction(t, 10*time.Second)
	status, out, err := call(http.MethodPost, ackPath, bot.Token, map[string]any{
		"event_id": d.EventID, "answer": map[string]any{"ephemeral_text": "Acknowledged over REST."},
	})
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %v: %s", ackPath, status, err, out)
	}
	if err := validateData("ack_result", jsonObject(out)); err != nil || jsonObject(out)["status"] != "applied" {
		t.Errorf("POST %s answered %s (%v), want status applied", ackPath, out, err)
	}
	clickDone(t, pending)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Acknowledged over REST." {
		t.Errorf("alice read %q after the REST ack", p.Message)
	}
	if st := botStatus(t, bot); st["kept"] != float64(0) {
		t.Errorf("status after both acks = %s, want nothing kept", mustJSON(st))
	}

	// Unsubscribing is leaving, as a disconnect is: the connection stays open but gets no
	// more clicks, and a click now is kept for the bot's next subscription.
	botWS.ws.SendMessage(unsubscribeAction, map[string]any{})
	botWS.mustNext(t, unsubscribedEvent, 10*time.Second)
	mustClick(t, alice, post.Id, "deploy", "")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != offlineNotice {
		t.Errorf("after the bot unsubscribed alice read %q, want the offline notice", p.Message)
	}
	botWS.expectNone(t, actionEvent, 300*time.Millisecond)
	if sub := botWS.subscribe(t); sub["kept"] != float64(1) {
		t.Errorf("subscribing again = %s, want the click kept meanwhile", mustJSON(sub))
	}
	botWS.ack(botWS.nextAction(t, 10*time.Second).EventID, nil)
}

// §9.5: a click for a bot that subscribed but has no live connection is answered at once, in
// plain words; the bot receives the kept click when it is back, and its late answer still
// updates the post and reaches the clicker.
func TestDeliveryBotOffline(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "offline"), env.Users[0]
	aliceWS := openSocket(t, alice)
	first := openSocket(t, bot)
	first.subscribe(t)
	post := createPost(t, bot, "", "Restart the worker?", numberedMenu(bot, 3))
	first.ws.Close()
	waitLive(t, bot, 0)

	c := mustClick(t, alice, post.Id, "pick", "1")
	p := aliceWS.ephemeralPost(t, 10*time.Second)
	heard := time.Now()
	if p.Message != offlineNotice {
		t.Errorf("alice read %q, want %q", p.Message, offlineNotice)
	}
	t.Logf("offline: the click answered in %s, alice read the notice %s after clicking",
		c.Done.Sub(c.Sent).Round(time.Millisecond), heard.Sub(c.Sent).Round(time.Millisecond))
	if st := botStatus(t, bot); st["kept"] != float64(1) {
		t.Errorf("status while offline = %s, want one kept event", mustJSON(st))
	}

	back := openSocket(t, bot)
	if sub := back.subscribe(t); sub["kept"] != float64(1) {
		t.Fatalf("subscribed after the outage = %s, want kept 1", mustJSON(sub))
	}
	d := back.nextAction(t, 10*time.Second)
	if d.Attempt < 2 || d.Option() != "1" || d.WindowMs != 0 {
		t.Errorf("replayed = attempt %d, option %q, window %d; want attempt >= 2, option 1, window 0", d.Attempt, d.Option(), d.WindowMs)
	}
	if d.FirstSentAt < c.Sent.UnixMilli() || d.FirstSentAt > c.Done.UnixMilli() {
		t.Errorf("first_sent_at %d is not the time of the click [%d, %d]", d.FirstSentAt, c.Sent.UnixMilli(), c.Done.UnixMilli())
	}
	back.ack(d.EventID, map[string]any{"update": map[string]any{"message": "Worker restarted (option 1)"}, "ephemeral_text": "Done, sorry for the wait."})
	if got := back.ackResult(t, d.EventID); got != "applied_late" {
		t.Errorf("ack_result = %q, want applied_late", got)
	}
	waitPostMessage(t, alice, post.Id, "Worker restarted (option 1)")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Done, sorry for the wait." {
		t.Errorf("alice read %q, want the late ephemeral_text", p.Message)
	}
	if st := botStatus(t, bot); st["kept"] != float64(0) {
		t.Errorf("status after the ack = %s, want nothing kept", mustJSON(st))
	}
}

// §9.4: a bot that answers after the window: the clicker is told it has not answered yet, and
// the late answer still applies.
func TestDeliverySlowBot(t *testing.T) {
	requirePlugin(t)
	setAnswerWindow(t, 1000)
	bot, alice := newDeliveryBot(t, "slow"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	if sub := botWS.subscribe(t); sub["answer_window_ms"] != float64(1000) {
		t.Fatalf("subscribed = %s, want answer_window_ms 1000", mustJSON(sub))
	}
	post := createPost(t, bot, "", "Run the report?", button("run", "Run", map[string]any{"user_id": bot.ID()}))
	pending := clickAsync(alice, post.Id, "run", "")
	d := botWS.nextAction(t, 10*time.Second)
	if d.WindowMs != 1000 {
		t.Errorf("answer_within_ms = %d, want 1000", d.WindowMs)
	}
	c := clickDone(t, pending) // the window passes: the bot has not acked
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != notAnsweredNotice {
		t.Errorf("alice read %q, want %q", p.Message, notAnsweredNotice)
	}
	t.Logf("slow bot: the click answered after %s", c.Done.Sub(c.Sent).Round(time.Millisecond))

	botWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "Report ready"}, "ephemeral_text": "Here it is."})
	if got := botWS.ackResult(t, d.EventID); got != "applied_late" {
		t.Errorf("ack_result = %q, want applied_late", got)
	}
	waitPostMessage(t, alice, post.Id, "Report ready")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Here it is." {
		t.Errorf("alice read %q, want the late ephemeral_text", p.Message)
	}
	botWS.expectNone(t, actionEvent, 300*time.Millisecond) // no other connection: not offered again
}

// replica acks every click it receives, unless stopped, and records what it received.
type replica struct {
	s       *socket
	mu      sync.Mutex
	got     map[string][]delivered // by option
	stopped bool
}

func (r *replica) run(t *testing.T) {
	go func() {
		for {
			ev, err := r.s.next(actionEvent, time.Minute)
			if err != nil {
				return
			}
			d := deliveryOf(t, ev)
			r.mu.Lock()
			if r.stopped {
				r.mu.Unlock()
				return
			}
			r.got[d.Option()] = append(r.got[d.Option()], d)
			r.mu.Unlock()
			r.s.ack(d.EventID, nil)
		}
	}()
}

func (r *replica) received() map[string][]delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]delivered{}
	for k, v := range r.got {
		out[k] = append([]delivered(nil), v...)
	}
	return out
}

// §9.2, §9.4: two replicas of one bot: each event reaches exactly one of them, spread across
// both; one dies mid-stream and nothing is lost.
func TestDeliveryReplicas(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "replicas"), env.Users[0]
	const n = 40
	post := createPost(t, bot, "", "Pick a number", numberedMenu(bot, n))
	a := &replica{s: openSocket(t, bot), got: map[string][]delivered{}}
	b := &replica{s: openSocket(t, bot), got: map[string][]delivered{}}
	for _, r := range []*replica{a, b} {
		r.s.subscribe(t)
		r.run(t)
	}

	for i := range 20 {
		clickDone(t, clickAsync(alice, post.Id, "pick", strconv.Itoa(i)))
	}
	ga, gb := a.received(), b.received()
	for i := range 20 {
		k := strconv.Itoa(i)
		if len(ga[k])+len(gb[k]) != 1 {
			t.Errorf("click %s reached replica a %d times and b %d times, want once in all", k, len(ga[k]), len(gb[k]))
		}
	}
	if len(ga) == 0 || len(gb) == 0 {
		t.Errorf("replica a got %d clicks, b %d: not spread", len(ga), len(gb))
	}
	t.Logf("20 clicks: replica a got %d, b got %d", len(ga), len(gb))

	// Replica a dies (stops acking, then its websocket closes) while clicks keep coming.
	var pending []<-chan clickResult
	for i := 20; i < n; i++ {
		if i == 25 {
			a.mu.Lock()
			a.stopped = true
			a.mu.Unlock()
		}
		if i == 28 {
			a.s.ws.Close()
		}
		pending = append(pending, clickAsync(alice, post.Id, "pick", strconv.Itoa(i)))
		time.Sleep(40 * time.Millisecond)
	}
	for _, p := range pending {
		clickDone(t, p)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ga, gb = a.received(), b.received()
		lost := []string{}
		for i := 20; i < n; i++ {
			if k := strconv.Itoa(i); len(ga[k])+len(gb[k]) == 0 {
				lost = append(lost, k)
			}
		}
		if len(lost) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after replica a died, clicks %v reached no live replica", lost)
		}
		time.Sleep(100 * time.Millisecond)
	}
	again := 0
	for _, ds := range gb {
		for _, d := range ds {
			if d.Attempt > 1 {
				again++
			}
		}
	}
	t.Logf("replica a died mid-stream: every click reached a replica; %d reached b again after a failed to answer", again)
	waitStatus(t, bot, 1, 0) // every event acknowledged, nothing left kept
}

// streamBot is cmd/streambot running as its own process.
type streamBot struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func buildStreamBot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streambot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/streambot")
	build.Dir = harness.E2EDir()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/streambot: %v\n%s", err, out)
	}
	return bin
}

func startStreamBot(t *testing.T, bin string, bot *harness.Account, lines chan string) *streamBot {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "MM_URL="+env.SiteURL, "MM_BOT_TOKEN="+bot.Token, "STREAMBOT_WORK_MS=40")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &streamBot{cmd: cmd, lines: lines, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-s.done })
	return s
}

// §9.6: the bot process killed (SIGKILL) in the middle of a stream of clicks and started
// again: every click is delivered, none is lost, and after dropping duplicates by
// proxy.event_id each is handled once.
func TestDeliveryBotKilledMidStream(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "stream"), env.Users[0]
	const n = 60
	post := createPost(t, bot, "", "A stream of clicks", numberedMenu(bot, n))
	bin := buildStreamBot(t)
	lines := make(chan string, 4*n)
	proc := startStreamBot(t, bin, bot, lines)

	type seen struct {
		option  string
		attempt int
	}
	events := map[string][]seen{} // by event id
	var deliveries, subscriptions int
	read := func(timeout time.Duration, until func() bool) {
		t.Helper()
		deadline := time.After(timeout)
		for !until() {
			select {
			case line := <-lines:
				f := strings.Fields(line)
				switch {
				case len(f) == 3 && f[0] == "subscribed":
					subscriptions++
					t.Logf("streambot: %s", line)
				case len(f) == 4 && f[0] == "event":
					attempt, _ := strconv.Atoi(f[2])
					events[f[1]] = append(events[f[1]], seen{f[3], attempt})
					deliveries++
				default:
					t.Errorf("streambot printed %q", line)
				}
			case <-deadline:
				return
			}
		}
	}
	read(30*time.Second, func() bool { return subscriptions == 1 })
	if subscriptions != 1 {
		t.Fatal("streambot did not subscribe")
	}

	var mu sync.Mutex
	var results []clickResult
	var wg sync.WaitGroup
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := click(alice, post.Id, "pick", strconv.Itoa(i))
			if err != nil {
				r.Status = -1
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}()
	}
	next := 0
	clicksUntil := func(count int) {
		for ; next < count; next++ {
			start(next)
			time.Sleep(30 * time.Millisecond)
		}
	}
	clicksUntil(20)
	read(20*time.Second, func() bool { return deliveries >= 15 })
	_ = proc.cmd.Process.Signal(syscall.SIGKILL)
	<-proc.done
	t.Logf("streambot killed after %d deliveries", deliveries)
	clicksUntil(40) // while it is down
	proc = startStreamBot(t, bin, bot, lines)
	clicksUntil(n)
	read(60*time.Second, func() bool { return len(events) >= n && deliveries >= n })
	wg.Wait()
	read(3*time.Second, func() bool { return false }) // late redeliveries, if any

	options := map[string]int{}
	for _, ss := range events {
		for _, s := range ss {
			options[s.option]++
		}
	}
	var lost []string
	for i := range n {
		if options[strconv.Itoa(i)] == 0 {
			lost = append(lost, strconv.Itoa(i))
		}
	}
	for _, r := range results {
		if r.Status != http.StatusOK {
			t.Errorf("a click answered HTTP %d: %s", r.Status, r.Body)
		}
	}
	redelivered := deliveries - len(events)
	t.Logf("bot killed mid-stream: sent %d, delivered %d (distinct event ids %d), redelivered %d, lost %d",
		n, deliveries, len(events), redelivered, len(lost))
	if len(lost) != 0 || len(events) != n {
		t.Errorf("lost clicks %v; %d distinct events for %d clicks", lost, len(events), n)
	}
	for id, ss := range events {
		for _, s := range ss[1:] {
			if s.option != ss[0].option {
				t.Errorf("event %s came back as another click (%s, then %s)", id, ss[0].option, s.option)
			}
		}
	}
	waitStatus(t, bot, 1, 0) // every event acknowledged, nothing left kept
}

// §9.6: kept events are durable: they survive the plugin being disabled and enabled, and
// Mattermost being restarted, and come back in order. A bot connected while the plugin
// restarts is asked to subscribe again.
func TestDeliveryKeptAcrossRestarts(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, other, alice := newDeliveryBot(t, "durable"), newDeliveryBot(t, "hinted"), env.Users[0]
	post := createPost(t, bot, "", "Kept across restarts", numberedMenu(bot, 3))
	s := openSocket(t, bot)
	s.subscribe(t)
	s.ws.Close()
	waitLive(t, bot, 0)
	hinted := openSocket(t, other)
	hinted.subscribe(t)

	aliceWS := openSocket(t, alice)
	offline := func(option string) {
		t.Helper()
		mustClick(t, alice, post.Id, "pick", option)
		if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != offlineNotice {
			t.Errorf("click %s: alice read %q, want the offline notice", option, p.Message)
		}
	}
	offline("0")

	if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	hint := hinted.mustNext(t, resubscribeEvent, 10*time.Second)
	t.Logf("after the plugin restarted, a connected bot was told: %s", mustJSON(hint.GetData()))
	hinted.subscribe(t) // the new plugin process takes it
	offline("1")        // the plugin still knows the bot subscribed

	if err := env.RestartMattermost(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	aliceWS = openSocket(t, alice)
	offline("2")

	back := openSocket(t, bot)
	if sub := back.subscribe(t); sub["kept"] != float64(3) {
		t.Fatalf("subscribed after the restarts = %s, want kept 3", mustJSON(sub))
	}
	var order []string
	var replayed []delivered
	for range 3 {
		d := back.nextAction(t, 10*time.Second)
		if d.Attempt < 2 {
			t.Errorf("replayed click %s has attempt %d, want > 1", d.Option(), d.Attempt)
		}
		order = append(order, d.Option())
		replayed = append(replayed, d)
	}
	for _, d := range replayed {
		back.ack(d.EventID, nil)
		if got := back.ackResult(t, d.EventID); got != "applied_late" {
			t.Errorf("ack_result = %q, want applied_late", got)
		}
	}
	if strings.Join(order, ",") != "0,1,2" {
		t.Errorf("replayed in the order %v, want 0, 1, 2", order)
	}
}

// §7, §9.3: a bot cannot acknowledge another bot's event (websocket or REST), nobody can
// subscribe as someone else, and malformed messages get an error on that connection alone.
// The rightful bot's ack still works afterwards: nothing is lost.
func TestDeliveryHostile(t *testing.T) {
	requirePlugin(t)
	bot, thief, alice := newDeliveryBot(t, "victim"), newDeliveryBot(t, "thief"), env.Users[0]
	botWS, thiefWS, aliceWS := openSocket(t, bot), openSocket(t, thief), openSocket(t, alice)
	botWS.subscribe(t)
	thiefWS.subscribe(t)
	post := createPost(t, bot, "", "Mine", button("mine", "Mine", map[string]any{"user_id": bot.ID()}))
	pending := clickAsync(alice, post.Id, "mine", "")
	d := botWS.nextAction(t, 10*time.Second)

	thiefWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "pwned"}})
	if code, msg := thiefWS.socketError(t); code != "not_your_event" {
		t.Errorf("another bot's ack on its websocket: error %q (%s), want not_your_event", code, msg)
	}
	status, out, _ := call(http.MethodPost, ackPath, thief.Token, map[string]any{"event_id": d.EventID, "answer": map[string]any{"ephemeral_text": "pwned"}})
	if obj := jsonObject(out); status != http.StatusForbidden || obj["error"] == nil {
		t.Errorf("another bot's ack over REST: HTTP %d %s, want 403 with an error", status, out)
	} else if err := validateData("error", map[string]any{"action": "ack", "seq": 0, "error": obj["error"]}); err != nil {
		t.Errorf("the REST error does not have the error event's shape: %v", err)
	}
	// alice is not a bot, but the same rule holds for her.
	status, _, _ = call(http.MethodPost, ackPath, alice.Token, map[string]any{"event_id": d.EventID})
	if status != http.StatusForbidden {
		t.Errorf("alice's ack over REST: HTTP %d, want 403", status)
	}
	for _, bad := range []map[string]any{{}, {"event_id": "../../etc"}, {"event_id": model.NewId()}} {
		thiefWS.ws.SendMessage(ackAction, bad)
		if code, _ := thiefWS.socketError(t); code == "" {
			t.Errorf("ack %v: no error code", bad)
		}
	}
	botWS.expectNone(t, errorEvent, 200*time.Millisecond) // the thief's errors went to the thief

	botWS.ack(d.EventID, map[string]any{"update": map[string]any{"message": "Still mine"}})
	if got := botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("the rightful ack after the attempts: %q, want applied", got)
	}
	clickDone(t, pending)
	waitPostMessage(t, alice, post.Id, "Still mine")

	// alice subscribes naming the bot: she subscribes herself, never the bot.
	aliceWS.ws.SendMessage(subscribeAction, map[string]any{"protocol": 1, "user_id": bot.ID()})
	aliceWS.mustNext(t, subscribedEvent, 10*time.Second)
	if st := botStatus(t, bot); liveConnections(st) != 1 {
		t.Errorf("bot status after alice's subscription = %s, want only its own connection", mustJSON(st))
	}
	if st := botStatus(t, alice); liveConnections(st) != 1 || st["user_id"] != alice.ID() {
		t.Errorf("alice's status = %s, want her own connection", mustJSON(st))
	}
	pending = clickAsync(alice, post.Id, "mine", "")
	d = botWS.nextAction(t, 10*time.Second)
	aliceWS.expectNone(t, actionEvent, 200*time.Millisecond)
	botWS.ack(d.EventID, nil)
	clickDone(t, pending)

	// Protocols this plugin does not speak, and actions it does not know.
	thiefWS.ws.SendMessage(subscribeAction, map[string]any{"protocol": 99})
	if code, _ := thiefWS.socketError(t); code == "" {
		t.Error("protocol 99: no error code")
	}
	thiefWS.ws.SendMessage("custom_"+pluginID+"_bogus", map[string]any{})
	if code, _ := thiefWS.socketError(t); code == "" {
		t.Error("an unknown action: no error code")
	}

	// Status is one's own; the administrators' view is for administrators.
	if status, out, _ := call(http.MethodGet, adminStatusPath, alice.Token, nil); status != http.StatusForbidden {
		t.Errorf("alice GET %s: HTTP %d %s, want 403", adminStatusPath, status, out)
	}
	status, out, err := call(http.MethodGet, adminStatusPath, env.Admin.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("admin GET %s: HTTP %d %v %s", adminStatusPath, status, err, out)
	}
	var ids []string
	bots, _ := jsonObject(out)["bots"].([]any)
	for _, b := range bots {
		if m, _ := b.(map[string]any); m != nil {
			ids = append(ids, fmt.Sprint(m["user_id"]))
		}
	}
	sort.Strings(ids)
	for _, want := range []string{bot.ID(), thief.ID()} {
		if i := sort.SearchStrings(ids, want); i == len(ids) || ids[i] != want {
			t.Errorf("the administrators' status lists %v, missing %s", ids, want)
		}
	}
}

// §9.2, §9.5, §9.6: a dialog submission for a subscribed bot is delivered like a click: to one
// connection, with an ack required, kept until acked. Nobody waits for an answer yet (bots
// answering dialogs is §11): the dialog closes at once. Offline, the submitter is told in an
// ephemeral post and the bot receives the submission when it is back.
func TestDeliveryDialogSubmissions(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "dialogs"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	botWS.subscribe(t)
	post := createPost(t, bot, "", "Deploy?", button("deploy", "Deploy", map[string]any{"user_id": bot.ID()}))

	// The bot opens a dialog with the click's trigger, then acks the click.
	openFor := func() *opened {
		t.Helper()
		pending := clickAsync(alice, post.Id, "deploy", "")
		d := botWS.nextAction(t, 10*time.Second)
		trig, _ := d.Data["trigger_id"].(string)
		status, body := openDialog(t, bot.Token, trig, deployDialog("s1", false))
		if status != http.StatusOK {
			t.Fatalf("dialogs/open: HTTP %d %s", status, mustJSON(body))
		}
		botWS.ack(d.EventID, nil)
		clickDone(t, pending)
		ev := aliceWS.mustNext(t, openDialogEv, 10*time.Second)
		o := &opened{}
		o.SessionID, _ = body["session_id"].(string)
		if err := json.Unmarshal([]byte(ev.GetData()["dialog"].(string)), &o.Request); err != nil {
			t.Fatal(err)
		}
		o.URL = o.Request.URL
		return o
	}
	values := map[string]any{"region": "eu", "reason": "hotfix for the login page"}

	// The submitter waits for the bot's answer (SPEC §11): the ack closes the dialog.
	o := openFor()
	answered := make(chan string, 1)
	go func() {
		_, out, err := call(http.MethodPost, dialogSubmitAPI, alice.Token, submitBody(alice, o, values, false))
		if err != nil {
			out = []byte(err.Error())
		}
		answered <- string(out)
	}()
	ev := botWS.mustNext(t, dialogEvent, 10*time.Second)
	d := deliveryOf(t, ev)
	if d.Attempt != 1 || d.WindowMs <= 0 {
		t.Errorf("dialog submission delivery = attempt %d within %d ms, want attempt 1 within the answer window (the submitter waits)", d.Attempt, d.WindowMs)
	}
	// While the submitter waits the submission is in memory only: nothing is promised yet,
	// nothing is stored (docs/DELIVERY.md).
	if st := botStatus(t, bot); st["kept"] != float64(0) {
		t.Errorf("status before the ack = %s, want nothing kept while the submitter waits", mustJSON(st))
	}
	botWS.ack(d.EventID, nil)
	if got := <-answered; strings.TrimSpace(got) != "{}" {
		t.Errorf("submit answered %s, want {} (the bot's ack closes the dialog)", got)
	}
	if got := botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("ack_result = %q, want applied (the submitter waited)", got)
	}
	waitStatus(t, bot, 1, 0)

	// Offline: the submission is kept and the submitter told.
	o = openFor()
	botWS.ws.Close()
	waitLive(t, bot, 0)
	mustSubmit(t, "offline bot", alice, submitBody(alice, o, values, false), "{}")
	if p := aliceWS.ephemeralPost(t, 10*time.Second); !strings.Contains(p.Message, "offline") || !strings.Contains(p.Message, "submission") || p.ChannelId != env.Channel.Id {
		t.Errorf("alice read %q in %s, want the offline notice for a submission in the dialog's channel", p.Message, p.ChannelId)
	}
	back := openSocket(t, bot)
	if sub := back.subscribe(t); sub["kept"] != float64(1) {
		t.Fatalf("subscribed = %s, want the submission kept", mustJSON(sub))
	}
	ev = back.mustNext(t, dialogEvent, 10*time.Second)
	if d := deliveryOf(t, ev); d.Attempt < 2 {
		t.Errorf("replayed submission attempt %d, want > 1", d.Attempt)
	} else {
		back.ack(d.EventID, nil)
	}
	if sub, _ := ev.GetData()["submission"].(map[string]any); sub["reason"] != "hotfix for the login page" {
		t.Errorf("replayed submission %s, want alice's values", mustJSON(ev.GetData()))
	}
	waitStatus(t, bot, 1, 0)
}
