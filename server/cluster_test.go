package main

// High availability by simulation (SPEC §9.8): two or more plugin instances, each a node of a
// cluster, against one shared KV store, one cluster bus and one set of websocket connections,
// with the real wasm core in each. A real cluster needs an Enterprise licence; this is what the
// design promises of one, tested: a click on one node answered through another, a node dying
// with its connections, replay from any node, replicas on different nodes.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// world is what every node shares: the KV store, the connections, the posts, the cluster.
type world struct {
	mu      sync.Mutex
	kv      map[string]kvEntry
	conns   map[string]*simConn
	nodes   []*Plugin
	updated []*model.Post
	ephem   []*model.Post
	// down holds the nodes that died: they hear nothing from the cluster any more.
	down map[*Plugin]bool
	// over is closed when the test ends: nothing said after it is the test's.
	over chan struct{}
	// written lists every key written to the store, in order.
	written []string
	// config is the plugin's settings, when a test needs other than simAPI's.
	config map[string]any
	// read lists every key read from the store, in order.
	read []string
	// dialogs lists the dialogs opened on people's screens.
	dialogs []model.OpenDialogRequest
}

// readsOf is how many times key was read from the store so far.
func (w *world) readsOf(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, k := range w.read {
		if k == key {
			n++
		}
	}
	return n
}

// writes is how many keys were written so far.
func (w *world) writes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.written)
}

// writesSince is the keys written since writes said n.
func (w *world) writesSince(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.written[n:]...)
}

type kvEntry struct {
	value   []byte
	expires time.Time
}

// simAPI is one node's plugin API onto the world. Methods the plugin does not use stay
// unimplemented (the embedded interface is nil): calling one fails the test.
type simAPI struct {
	plugin.API
	w    *world
	self *Plugin
	t    testing.TB
}

// GetBundlePath: no bundle directory, so compiled code is cached in the process only.
func (a *simAPI) GetBundlePath() (string, error) { return "", nil }

// The post every click is made on, by the bot, in the world's channel.
var (
	simBot     = &model.User{Id: "bot1bot1bot1bot1bot1bot1b1", Username: "helper-bot", IsBot: true}
	simAlice   = &model.User{Id: "alicealicealicealicealice1", Username: "alice"}
	simChannel = &model.Channel{Id: "chanchanchanchanchanchan01", TeamId: "teamteamteamteamteamteam01", Name: "town-square", Type: model.ChannelTypeOpen}
	simTeam    = &model.Team{Id: "teamteamteamteamteamteam01", Name: "acme"}
)

func simPost() *model.Post {
	p := &model.Post{Id: "postpostpostpostpostpost01", UserId: simBot.Id, ChannelId: simChannel.Id, Message: "Deploy?"}
	p.AddProp("attachments", []any{map[string]any{"actions": []any{map[string]any{
		"id": "approve", "name": "Approve", "type": "button",
		"integration": map[string]any{"url": "/plugins/mattermost-plugin-interactive-message-actions-to-websocket-proxy/api/v1/handler",
			"context": map[string]any{"user_id": simBot.Id, "action": "approve"}},
	}}}})
	return p
}

func (a *simAPI) GetPluginConfig() map[string]any {
	if a.w.config != nil {
		return a.w.config
	}
	return map[string]any{"answerwindowms": 800, "keptperbot": 5000}
}

// GetConfig: a cluster (ClusterSettings.Enable), so that an acknowledgement of an event a node
// does not know is asked of the others.
func (a *simAPI) GetConfig() *model.Config {
	cfg := testServerConfig()
	cfg.ClusterSettings.Enable = model.NewPointer(true)
	return cfg
}
func (a *simAPI) LogInfo(string, ...any)        {}
func (a *simAPI) LogDebug(string, ...any)       {}
func (a *simAPI) LogWarn(msg string, kv ...any) { a.t.Logf("warn: %s %v", msg, kv) }
func (a *simAPI) LogError(msg string, kv ...any) {
	a.w.mu.Lock()
	down := a.w.down[a.self]
	a.w.mu.Unlock()
	select {
	case <-a.w.over:
	default:
		if down {
			a.t.Logf("error on a dead node (expected): %s %v", msg, kv)
			return
		}
		a.t.Errorf("error: %s %v", msg, kv)
	}
}
func (a *simAPI) GetPost(string) (*model.Post, *model.AppError) {
	return simPost(), nil
}
func (a *simAPI) GetUser(id string) (*model.User, *model.AppError) {
	for _, u := range []*model.User{simBot, simAlice} {
		if u.Id == id {
			return u, nil
		}
	}
	return nil, model.NewAppError("GetUser", "app.user.missing_account.const", nil, "", 404)
}
func (a *simAPI) GetChannel(string) (*model.Channel, *model.AppError) { return simChannel, nil }
func (a *simAPI) GetTeam(string) (*model.Team, *model.AppError)       { return simTeam, nil }
func (a *simAPI) HasPermissionToChannel(string, string, *model.Permission) bool {
	return true
}

// dead is the error a killed node's calls to the store get: the process is gone, whatever it
// was doing does not reach the store.
func (a *simAPI) dead() *model.AppError {
	if a.self != nil && a.w.down[a.self] {
		return model.NewAppError("sim", "sim.node_down", nil, "this node is down", 500)
	}
	return nil
}

func (a *simAPI) KVGet(key string) ([]byte, *model.AppError) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	if err := a.dead(); err != nil {
		return nil, err
	}
	a.w.read = append(a.w.read, key)
	e, ok := a.w.kv[key]
	if !ok || (!e.expires.IsZero() && time.Now().After(e.expires)) {
		return nil, nil
	}
	return append([]byte(nil), e.value...), nil
}

func (a *simAPI) OpenInteractiveDialog(request model.OpenDialogRequest) *model.AppError {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	a.w.dialogs = append(a.w.dialogs, request)
	return nil
}

func (a *simAPI) KVSetWithOptions(key string, value []byte, o model.PluginKVSetOptions) (bool, *model.AppError) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	if err := a.dead(); err != nil {
		return false, err
	}
	current, exists := a.w.kv[key]
	if exists && !current.expires.IsZero() && time.Now().After(current.expires) {
		exists = false
	}
	if o.Atomic {
		if o.OldValue == nil && exists || o.OldValue != nil && (!exists || !bytes.Equal(current.value, o.OldValue)) {
			return false, nil
		}
	}
	var expires time.Time
	if o.ExpireInSeconds > 0 {
		expires = time.Now().Add(time.Duration(o.ExpireInSeconds) * time.Second)
	}
	a.w.kv[key] = kvEntry{value: append([]byte(nil), value...), expires: expires}
	a.w.written = append(a.w.written, key)
	return true, nil
}

func (a *simAPI) KVDelete(key string) *model.AppError {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	if err := a.dead(); err != nil {
		return err
	}
	delete(a.w.kv, key)
	return nil
}

func (a *simAPI) KVCompareAndDelete(key string, old []byte) (bool, *model.AppError) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	if err := a.dead(); err != nil {
		return false, err
	}
	if e, ok := a.w.kv[key]; ok && bytes.Equal(e.value, old) {
		delete(a.w.kv, key)
		return true, nil
	}
	return false, nil
}

func (a *simAPI) PublishWebSocketEvent(event string, payload map[string]any, b *model.WebsocketBroadcast) {
	data, _ := json.Marshal(payload)
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	for id, c := range a.w.conns {
		if c.user == b.UserId && (b.ConnectionId == "" || b.ConnectionId == id) && !c.closed {
			// As Mattermost's hub does: a connection whose send queue is full is closed.
			if len(c.events) >= mattermostSendQueue {
				c.closed = true
				a.t.Logf("connection %s: send queue full, closed", id)
				continue
			}
			c.events <- simEvent{name: event, data: data}
		}
	}
}

// mattermostSendQueue is the send queue of a websocket connection in Mattermost
// (sendQueueSize in server/channels/app/platform/web_conn.go).
const mattermostSendQueue = 256

func (a *simAPI) PublishPluginClusterEvent(ev model.PluginClusterEvent, _ model.PluginClusterEventSendOptions) error {
	a.w.mu.Lock()
	var others []*Plugin
	for _, n := range a.w.nodes {
		if n != a.self && !a.w.down[n] {
			others = append(others, n)
		}
	}
	a.w.mu.Unlock()
	for _, n := range others {
		go n.OnPluginClusterEvent(nil, ev)
	}
	return nil
}

func (a *simAPI) UpdatePost(post *model.Post) (*model.Post, *model.AppError) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	a.w.updated = append(a.w.updated, post)
	return post, nil
}

func (a *simAPI) SendEphemeralPost(_ string, post *model.Post) *model.Post {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	a.w.ephem = append(a.w.ephem, post)
	return post
}

// simConn is one websocket connection of a user, held by one node.
type simConn struct {
	id     string
	user   string
	node   *Plugin
	events chan simEvent
	closed bool
}

type simEvent struct {
	name string
	data []byte
}

func newWorld(t *testing.T, nodes int) *world { return newWorldWith(t, nodes, nil) }

// newWorldWith is newWorld with the plugin's settings given (nil: simAPI's).
func newWorldWith(t *testing.T, nodes int, config map[string]any) *world {
	w := &world{kv: map[string]kvEntry{}, conns: map[string]*simConn{}, down: map[*Plugin]bool{}, over: make(chan struct{}), config: config}
	for range nodes {
		p := &Plugin{}
		p.SetAPI(&simAPI{w: w, self: p, t: t})
		w.nodes = append(w.nodes, p)
		require.NoError(t, p.OnActivate())
		t.Cleanup(func() { _ = p.OnDeactivate() })
	}
	t.Cleanup(func() { close(w.over) }) // runs first: cleanups run last-in first-out
	return w
}

// connect opens a connection of the bot on node.
func (w *world) connect(node *Plugin) *simConn {
	c := &simConn{id: model.NewId(), user: simBot.Id, node: node, events: make(chan simEvent, 1024)}
	w.mu.Lock()
	w.conns[c.id] = c
	w.mu.Unlock()
	return c
}

// send is a websocket message from the connection to its node.
func (c *simConn) send(action string, data map[string]any) {
	c.node.WebSocketMessageHasBeenPosted(c.id, c.user, &model.WebSocketRequest{
		Seq: 1, Action: "custom_mattermost-plugin-interactive-message-actions-to-websocket-proxy_" + action, Data: data,
	})
}

// next waits for the next event named name.
func (c *simConn) next(t *testing.T, name string) map[string]any {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if ev.name == name {
				var data map[string]any
				require.NoError(t, json.Unmarshal(ev.data, &data))
				return data
			}
		case <-timeout:
			t.Fatalf("connection %s: no %s event", c.id, name)
		}
	}
}

// subscribe subscribes the connection and waits for the answer.
func (c *simConn) subscribe(t *testing.T) map[string]any {
	t.Helper()
	c.send("subscribe", map[string]any{"protocol": 1})
	return c.next(t, "subscribed")
}

// close ends the connection; its node hears of it, as Mattermost would tell it.
func (w *world) close(c *simConn) {
	w.mu.Lock()
	c.closed = true
	w.mu.Unlock()
	c.node.OnWebSocketDisconnect(c.id, c.user)
}

// kill stops a node: it hears nothing more, beats no more, and its heartbeat is gone as
// though it had expired.
func (w *world) kill(p *Plugin) {
	w.mu.Lock()
	w.down[p] = true
	delete(w.kv, "node_"+p.node)
	for _, c := range w.conns {
		if c.node == p {
			c.closed = true
		}
	}
	w.mu.Unlock()
	p.timers.stop()
}

// click is alice clicking the post's button through node.
func click(t *testing.T, node *Plugin) (int, map[string]any) {
	t.Helper()
	body := fmt.Sprintf(`{"user_id":%q,"user_name":"alice","channel_id":%q,"channel_name":"town-square","team_id":%q,"team_domain":"acme","post_id":"postpostpostpostpostpost01","trigger_id":%q,"type":"button","data_source":"","context":{"action":"approve","user_id":%q}}`,
		simAlice.Id, simChannel.Id, simTeam.Id, triggerFor(simAlice.Id), simBot.Id)
	return request(t, node, simAlice.Id, "POST", "/api/v1/handler", json.RawMessage(body))
}

func triggerFor(user string) string {
	raw := model.NewId() + ":" + user + ":1700000000000:c2lnbmF0dXJl"
	return base64Std(raw)
}

func eventID(data map[string]any) string {
	id, _ := data["proxy"].(map[string]any)["event_id"].(string)
	return id
}

// A click on node A reaches the bot's connection on node B; the bot acknowledges on B; the
// answer crosses the cluster to A, where the click waits, and becomes its response.
func TestClusterClickOnOneNodeAnsweredThroughAnother(t *testing.T) {
	w := newWorld(t, 2)
	a, b := w.nodes[0], w.nodes[1]
	conn := w.connect(b)
	conn.subscribe(t)

	go func() {
		ev := conn.next(t, "action")
		conn.send("ack", map[string]any{"event_id": eventID(ev), "result": true, "answer": map[string]any{"ephemeral_text": "Deploying."}})
	}()
	status, answer := click(t, a)
	assert.Equal(t, 200, status)
	assert.Equal(t, map[string]any{"ephemeral_text": "Deploying."}, answer, "the answer acknowledged on B is the response of the click on A")
	assert.Equal(t, "applied", conn.next(t, "ack_result")["status"])
}

// A node dies with the bot's connection: clicks on the other node find the bot offline and
// keep the clicks; the bot reconnects to the surviving node and receives them, in order, and
// its late answers take effect.
func TestClusterANodeDyingTakesItsConnectionsWithIt(t *testing.T) {
	w := newWorld(t, 2)
	a, b := w.nodes[0], w.nodes[1]
	w.connect(b).subscribe(t)
	w.kill(b)

	var kept []string
	for range 3 {
		status, answer := click(t, a)
		require.Equal(t, 200, status)
		assert.Contains(t, answer["ephemeral_text"], "offline", "the clicker is told at once")
	}
	again := w.connect(a)
	subscribed := again.subscribe(t)
	assert.EqualValues(t, 3, subscribed["kept"])
	for range 3 {
		ev := again.next(t, "action")
		delivery := ev["proxy"].(map[string]any)["delivery"].(map[string]any)
		assert.Greater(t, delivery["attempt"], float64(1), "a replay is a later attempt")
		kept = append(kept, eventID(ev))
	}
	for _, id := range kept {
		again.send("ack", map[string]any{"event_id": id, "result": true, "answer": map[string]any{"update": map[string]any{"message": "done"}, "ephemeral_text": "Done, late."}})
		assert.Equal(t, "applied_late", again.next(t, "ack_result")["status"])
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Len(t, w.updated, 3, "every late update applied")
	assert.Len(t, w.ephem, 3, "every late text sent to the clicker")
	if len(w.updated) > 0 {
		assert.Equal(t, "done", w.updated[0].Message)
		assert.Equal(t, "postpostpostpostpostpost01", w.updated[0].Id)
	}
}

// Events kept through one node are replayed through any other.
func TestClusterReplayFromAnyNode(t *testing.T) {
	w := newWorld(t, 3)
	c := w.connect(w.nodes[0])
	c.subscribe(t)
	w.close(c)
	var order []string
	for i := range 4 {
		_, answer := click(t, w.nodes[i%2])
		require.Contains(t, answer["ephemeral_text"], "offline")
	}
	replay := w.connect(w.nodes[2])
	assert.EqualValues(t, 4, replay.subscribe(t)["kept"])
	for range 4 {
		order = append(order, eventID(replay.next(t, "action")))
	}
	// The queue is the order the clicks were kept in.
	queue := w.queue(t)
	require.Len(t, queue, 4)
	for i, id := range queue {
		assert.Equal(t, id, order[i], "replayed in order")
	}
}

// queue is the bot's kept events in the store, in the queue's order.
func (w *world) queue(t *testing.T) []string {
	t.Helper()
	api := &simAPI{w: w}
	raw, _ := api.KVGet("qc_" + simBot.Id)
	var counter queueRange
	require.NoError(t, json.Unmarshal(raw, &counter))
	var ids []string
	for seq := counter.First; seq < counter.Next; seq++ {
		entry, _ := api.KVGet(fmt.Sprintf("qi_%s_%d", simBot.Id, seq))
		var e struct {
			EventID string `json:"event_id"`
		}
		if entry != nil && json.Unmarshal(entry, &e) == nil {
			ids = append(ids, e.EventID)
		}
	}
	return ids
}

// A node dies while a click waits there for the bot's answer. The event lived in that node's
// memory only: the click fails, as an HTTP integration's request fails when its server dies
// (here the dead node's store calls fail, so it cannot keep the event once the window passes),
// nothing is kept or replayed, and the bot's acknowledgement through another node is told the
// event is unknown (no node waits for it).
func TestClusterNodeDiesWhileAClickWaits(t *testing.T) {
	w := newWorld(t, 2)
	c := w.connect(w.nodes[0])
	c.subscribe(t)
	done := make(chan int)
	go func() { status, _ := click(t, w.nodes[0]); done <- status }()
	sent := c.next(t, "action")
	w.kill(w.nodes[0])
	assert.Equal(t, 503, <-done, "the click fails: nothing was promised, nothing is kept")

	again := w.connect(w.nodes[1])
	assert.EqualValues(t, 0, again.subscribe(t)["kept"], "nothing kept to replay")
	again.send("ack", map[string]any{"event_id": eventID(sent), "result": true})
	refused := again.next(t, "error")
	assert.Equal(t, "unknown_event", refused["error"].(map[string]any)["code"])
}

// Two nodes alive, a click waiting on A for a connection on B: the bot's acknowledgement on B
// finds the event neither in B's memory nor in the store, and relays it in one cluster message;
// A takes it, its click answers with it, and B tells the bot what became of it. Nothing is
// written to the store.
func TestClusterAckRelayedToTheNodeWhereTheClickWaits(t *testing.T) {
	w := newWorld(t, 2)
	a, b := w.nodes[0], w.nodes[1]
	conn := w.connect(b)
	conn.subscribe(t)
	writes := w.writes()
	go func() {
		ev := conn.next(t, "action")
		conn.send("ack", map[string]any{"event_id": eventID(ev), "result": true, "answer": map[string]any{"ephemeral_text": "Relayed."}})
	}()
	status, answer := click(t, a)
	assert.Equal(t, 200, status)
	assert.Equal(t, map[string]any{"ephemeral_text": "Relayed."}, answer)
	assert.Equal(t, "applied", conn.next(t, "ack_result")["status"])
	// Only the trigger's place (a click's own) and heartbeats are written: the event is not.
	for _, key := range w.writesSince(writes) {
		assert.False(t, strings.HasPrefix(key, "ev_") || strings.HasPrefix(key, "q"), "wrote %s", key)
	}
}

// A long replay goes in batches (Mattermost closes a connection whose send queue of 256 fills):
// every kept event arrives, in order, and the replay's timers are gone once it is over.
func TestClusterLongReplayGoesInBatches(t *testing.T) {
	w := newWorld(t, 2)
	c := w.connect(w.nodes[0])
	c.subscribe(t)
	w.close(c)
	const n = 300 // more than a connection's send queue holds
	for range n {
		_, answer := click(t, w.nodes[1])
		require.Contains(t, answer["ephemeral_text"], "offline")
	}
	replay := w.connect(w.nodes[0])
	assert.EqualValues(t, n, replay.subscribe(t)["kept"])
	queue := w.queue(t)
	require.Len(t, queue, n)
	for i := range n {
		assert.Equal(t, queue[i], eventID(replay.next(t, "action")), "event %d in order", i)
	}
	require.Eventually(t, func() bool { return w.nodes[0].timers.count() == 1 }, 5*time.Second, 10*time.Millisecond,
		"only the heartbeat's timer is left")
}

// Two replicas of one bot on two nodes: every click reaches exactly one of them, and both get
// some.
func TestClusterReplicasShareTheClicks(t *testing.T) {
	w := newWorld(t, 2)
	replicas := []*simConn{w.connect(w.nodes[0]), w.connect(w.nodes[1])}
	got := map[string]map[string]bool{}
	var mu sync.Mutex
	for _, r := range replicas {
		r.subscribe(t)
		got[r.id] = map[string]bool{}
		go func() {
			for {
				var ev simEvent
				select {
				case ev = <-r.events:
				case <-w.over:
					return
				}
				if ev.name != "action" {
					continue
				}
				var data map[string]any
				_ = json.Unmarshal(ev.data, &data)
				mu.Lock()
				got[r.id][eventID(data)] = true
				mu.Unlock()
				r.send("ack", map[string]any{"event_id": eventID(data)})
			}
		}()
	}
	for i := range 24 {
		status, _ := click(t, w.nodes[i%2])
		require.Equal(t, 200, status)
	}
	mu.Lock()
	defer mu.Unlock()
	a, b := got[replicas[0].id], got[replicas[1].id]
	assert.Equal(t, 24, len(a)+len(b), "every click delivered")
	for id := range a {
		assert.False(t, b[id], "event %s reached both replicas", id)
	}
	assert.NotEmpty(t, a, "the first replica got some clicks")
	assert.NotEmpty(t, b, "the second replica got some clicks")
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// request is one HTTP request to node's plugin as user, answered with its status and body.
func request(t *testing.T, node *Plugin, user, method, path string, body any) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(mustMarshal(body)))
	r.Header.Set("Mattermost-User-Id", user)
	w := httptest.NewRecorder()
	node.ServeHTTP(nil, w, r)
	var answer map[string]any
	// assert, not require: the simulated bot calls this from its own goroutine.
	assert.NoError(t, json.Unmarshal(w.Body.Bytes(), &answer), "a JSON answer: %s", w.Body.String())
	return w.Code, answer
}

// SPEC §11, issue 20: the lookups of a person typing in a dynamic select read no store — the
// node that opened the dialog remembers the session it stored — and a refresh on another node
// that adds a dynamic select makes every node forget its copy, so that the new select's
// lookups work there at once and on the other node as soon as the cluster message arrives.
func TestClusterLookupsReadNoStoreAndFollowARefresh(t *testing.T) {
	w := newWorld(t, 2)
	a, b := w.nodes[0], w.nodes[1]
	conn := w.connect(a)
	conn.subscribe(t)
	// The bot: opens a dialog with a dynamic select on the click, lists options, and answers
	// the refresh with a form that has a second dynamic select.
	go func() {
		for {
			var ev simEvent
			select {
			case ev = <-conn.events:
			case <-w.over:
				return
			}
			var data map[string]any
			_ = json.Unmarshal(ev.data, &data)
			var answer any
			switch ev.name {
			case "action":
				proxy := data["proxy"].(map[string]any)
				status, body := request(t, a, simBot.Id, "POST", "/api/v1/dialogs/open", map[string]any{
					"trigger_id": data["trigger_id"], "trigger_token": proxy["trigger_token"],
					"dialog": map[string]any{"callback_id": "deploy", "title": "Deploy", "elements": []any{
						map[string]any{"display_name": "Service", "name": "service", "type": "select", "data_source": "dynamic"},
						map[string]any{"display_name": "Region", "name": "region", "type": "select", "refresh": true,
							"options": []any{map[string]any{"text": "EU", "value": "eu"}}},
					}},
				})
				assert.Equal(t, 200, status, "the dialog opens: %v", body)
			case "dialog_lookup":
				field := data["selected_field"].(string)
				answer = map[string]any{"items": []any{map[string]any{"text": field + ": " + data["query"].(string), "value": "x"}}}
			case "dialog_refresh":
				answer = map[string]any{"type": "form", "form": map[string]any{"callback_id": "deploy", "title": "Deploy", "elements": []any{
					map[string]any{"display_name": "Service", "name": "service", "type": "select", "data_source": "dynamic"},
					map[string]any{"display_name": "Zone", "name": "zone", "type": "select", "data_source": "dynamic"},
				}}}
			default:
				continue
			}
			conn.send("ack", map[string]any{"event_id": eventID(data), "answer": answer})
		}
	}()
	status, _ := click(t, a)
	require.Equal(t, 200, status)
	require.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.dialogs) == 1 }, 5*time.Second, 10*time.Millisecond)
	w.mu.Lock()
	url := w.dialogs[0].URL // .../dialogs/<session>/submit
	w.mu.Unlock()
	session := strings.TrimSuffix(strings.TrimPrefix(url, "/plugins/mattermost-plugin-interactive-message-actions-to-websocket-proxy/api/v1/dialogs/"), "/submit")
	key := "dialog_" + session
	lookup := func(node *Plugin, field, query string) (int, map[string]any) {
		return request(t, node, simAlice.Id, "POST", "/api/v1/dialogs/"+session+"/lookup", map[string]any{
			"user_id": simAlice.Id, "channel_id": simChannel.Id, "team_id": simTeam.Id, "type": "dialog_lookup",
			"submission": map[string]any{"selected_field": field, "query": query}})
	}

	// Typing in the select on the node that opened the dialog: options, and no store read.
	before := w.readsOf(key)
	for _, q := range []string{"a", "ap", "api"} {
		status, body := lookup(a, "service", q)
		require.Equal(t, 200, status, "%v", body)
		assert.Equal(t, "service: "+q, body["items"].([]any)[0].(map[string]any)["text"])
	}
	assert.Equal(t, before, w.readsOf(key), "a lookup reads the session this node remembers, not the store")

	// B reads the store once, then its own copy.
	for range 2 {
		status, _ := lookup(b, "service", "x")
		require.Equal(t, 200, status)
	}
	assert.Equal(t, before+1, w.readsOf(key), "another node reads the store once, then keeps a copy")

	// A refresh on B redraws the form with a new dynamic select: B forgets its copy at once, A
	// when the cluster message reaches it (without it A would refuse the new select for as
	// long as it keeps a copy, 30 s).
	status, body := request(t, b, simAlice.Id, "POST", "/api/v1/dialogs/"+session+"/submit", map[string]any{
		"user_id": simAlice.Id, "channel_id": simChannel.Id, "team_id": simTeam.Id, "callback_id": "deploy",
		"type": "refresh", "submission": map[string]any{"region": "eu"}})
	require.Equal(t, 200, status, "%v", body)
	require.Equal(t, "form", body["type"])
	status, body = lookup(b, "zone", "z")
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, "zone: z", body["items"].([]any)[0].(map[string]any)["text"], "the redrawn form's select works where it was redrawn")
	assert.Eventually(t, func() bool {
		status, _ := lookup(a, "zone", "z")
		return status == 200
	}, 2*time.Second, 20*time.Millisecond, "the redrawn form's select works on the other node")
}
