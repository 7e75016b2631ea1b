package socketmode

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// conn is one websocket connection: a model.WebSocketClient, made safe to send on from
// many goroutines and after it closed.
//
// model.WebSocketClient has no reconnection (Run makes a new one each time), increments its
// Sequence without a lock (sends go through mu), panics when SendMessage is called after its
// reader stopped (send on a closed channel: recovered, and reported as not sent, so the
// acknowledgement falls back to REST), and its Close can wait for a writer blocked on a dead
// peer (close shuts the network connection instead, which ends the reader, which cleans up).
type conn struct {
	ws     *model.WebSocketClient
	mu     sync.Mutex
	closed atomic.Bool
	done   chan struct{} // closed when the reader stopped

	asked    atomic.Int64 // subscriptions asked for on this connection
	answered atomic.Bool  // the last one was answered (subscribed)
}

// dial opens and authenticates a connection (the model client sends the token in its
// authentication_challenge) and starts reading it.
func (a *App) dial(wsURL string) (*conn, error) {
	d := &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 30 * time.Second}
	if !a.opts.NoQuickAck {
		d.NetDialContext = DialQuickAck
	}
	ws, err := model.NewWebSocketClient4WithDialer(d, wsURL, a.Client.AuthToken)
	if err != nil {
		return nil, err
	}
	c := &conn{ws: ws, done: make(chan struct{})}
	ws.Listen()
	go func() {
		for range ws.ResponseChannel { // replies to our own messages: none is needed
		}
		close(c.done)
	}()
	go func() {
		// The model client reports a missing ping here, and blocks its reader if nobody
		// reads: a connection that stopped pinging is dead, start again.
		select {
		case <-ws.PingTimeoutChannel:
			a.log.Warn("no ping from Mattermost: reconnecting")
			c.close()
		case <-c.done:
		}
	}()
	return c, nil
}

// send sends one websocket action; false when the connection is closed (nothing sent).
// true means handed to the connection: TCP may still lose it, and then the plugin sends
// the event again.
func (c *conn) send(action string, data map[string]any) (sent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return false
	}
	defer func() {
		if recover() != nil { // the reader stopped meanwhile and closed the writer
			c.closed.Store(true)
			sent = false
		}
	}()
	c.ws.SendMessage(action, data)
	return true
}

// close ends the connection: a close frame if it can, then the network connection.
//
// Before, a ping action goes through the model client's writer: the writer takes one
// message at a time, so once it took this one, every message sent before (the last
// acknowledgements) is written, and the close frame cannot overtake them.
func (c *conn) close() {
	c.send("ping", nil)
	if c.closed.Swap(true) {
		return
	}
	_ = c.ws.Conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = c.ws.Conn.Close()
}

// discard reads and drops what still comes on c, so that its reader (and the ping
// handling in it) keeps going while the running handlers finish during a shutdown. Events
// dropped here were not acknowledged: the plugin keeps them.
func (c *conn) discard(a *App) {
	for ev := range c.ws.EventChannel {
		if name, ours := pluginEvent(ev); ours && carriesWork(name) {
			a.log.Info("shutting down: an event is left to the plugin, which sends it again later", "event", name)
		}
	}
}

// serve reads c's events and handles them until c closes (false) or ctx is done. greeted
// reports that Mattermost said hello: the connection worked.
func (a *App) serve(ctx context.Context, c *conn) (greeted bool) {
	for {
		select {
		case <-ctx.Done():
			go c.discard(a)
			return greeted
		case ev, ok := <-c.ws.EventChannel:
			if !ok {
				c.closed.Store(true)
				a.mu.Lock()
				if a.live == c {
					a.live = nil
				}
				a.mu.Unlock()
				return greeted
			}
			if !a.opts.NoQuickAck {
				pongIfNoQuickAck(c)
			}
			if ev.EventType() == model.WebsocketEventHello {
				greeted = true
			}
			a.receive(c, ev)
		}
	}
}

// subscribe asks the plugin for guaranteed delivery on c (SPEC §9.1), with the expansions.
//
// Unanswered, it asks again, less and less often: a plugin that is not enabled yet answers
// nothing, and once enabled it asks only bots that had subscribed before to subscribe again.
// A subscription taken twice is harmless (the plugin sends its kept events again; the
// library acknowledges the repeats from memory).
func (a *App) subscribe(c *conn) {
	c.answered.Store(false)
	a.askSubscription(c, c.asked.Add(1), 0)
}

func (a *App) askSubscription(c *conn, ask int64, attempt int) {
	if c.closed.Load() || c.answered.Load() || c.asked.Load() != ask {
		return // gone, answered, or asked again since (that ask has its own timer)
	}
	if attempt > 0 {
		a.log.Warn("the subscription was not answered: is the plugin enabled? Asking again", "attempt", attempt+1)
	}
	data := map[string]any{"protocol": 1}
	if x := a.opts.Expand.request(); x != nil {
		data["expand"] = x
	}
	if c.send(eventPrefix+"subscribe", data) {
		time.AfterFunc(a.unanswered.delay(attempt), func() { a.askSubscription(c, ask, attempt+1) })
	}
}
