package socketmode

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// conn is one websocket connection to Mattermost, spoken directly with gorilla/websocket.
//
// Not model.WebSocketClient: it decodes every event's data into a map, which the library then
// had to encode again to read it into its types, and it hands each event, and each message
// sent, to a goroutine of its own through a channel. On a click's path that was three JSON
// passes and two goroutine hand-offs more than a bot needs (BenchmarkClickToAck). Here the
// goroutine that reads a frame handles it, the plugin's events go to their handlers as the
// bytes they came in, and a message is written by the goroutine that sends it.
type conn struct {
	ws     *websocket.Conn
	wmu    sync.Mutex // one writer at a time; seq and closed change under it
	seq    int64
	closed atomic.Bool
	done   chan struct{} // closed when the reader stopped
	err    error         // why it stopped, readable once done is closed

	greeted atomic.Bool // Mattermost said hello

	asked    atomic.Int64 // subscriptions asked for on this connection
	answered atomic.Bool  // the last one was answered (subscribed)
}

// pingWait is how long a connection may go without a frame or a ping from Mattermost before it
// is taken for dead: Mattermost pings every 60 s and waits 100 s for the pong (web_conn.go), so
// 100 s. It is counted from the last frame too: the reading goroutine also runs the bot's
// OnWebSocketEvent callback and sends subscriptions, and a slow one must not make a live
// connection look dead.
const pingWait = 100 * time.Second

// writeWait bounds one write: a peer that stopped reading must not hold a sender forever.
const writeWait = 10 * time.Second

// dial opens and authenticates a connection (the token in an authentication_challenge, as
// Mattermost's own clients do). Reading starts with serve.
func (a *App) dial(wsURL string) (*conn, error) {
	d := &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 30 * time.Second}
	if !a.opts.NoQuickAck {
		d.NetDialContext = DialQuickAck
	}
	ws, _, err := d.Dial(wsURL+model.APIURLSuffix+"/websocket", nil)
	if err != nil {
		return nil, err
	}
	c := &conn{ws: ws, done: make(chan struct{})}
	_ = ws.SetReadDeadline(time.Now().Add(pingWait))
	ws.SetPingHandler(func(data string) error {
		_ = ws.SetReadDeadline(time.Now().Add(pingWait))
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil // as gorilla's own handler: a late pong is not the end
			}
			return err
		}
		return nil
	})
	if !c.send(string(model.WebsocketAuthenticationChallenge), map[string]any{"token": a.Client.AuthToken}) {
		c.close()
		return nil, errors.New("the authentication challenge could not be sent")
	}
	return c, nil
}

// request is a message to Mattermost (model.WebSocketRequest's framing).
type request struct {
	Seq    int64          `json:"seq"`
	Action string         `json:"action"`
	Data   map[string]any `json:"data"`
}

// send sends one websocket action; false when the connection is closed or the write failed
// (nothing sent, or not all of it: the connection is then closed, and an acknowledgement
// falls back to REST). true means written to the socket: TCP may still lose it, and then the
// plugin sends the event again.
func (c *conn) send(action string, data map[string]any) (sent bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.seq++
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteJSON(request{Seq: c.seq, Action: action, Data: data}); err != nil {
		c.closed.Store(true)
		_ = c.ws.Close() // the reader stops, and the app reconnects
		return false
	}
	return true
}

// close ends the connection: a close frame if it can, then the network connection. Every
// message sent before is written first (sends hold the write lock to the end).
func (c *conn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Swap(true) {
		_ = c.ws.Close()
		return
	}
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = c.ws.Close()
}

// frame is what the library reads of a message from Mattermost: an event's name and its data
// as it came (a reply to one of the bot's own messages has no event).
type frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// read reads c's frames and handles each on this goroutine until c closes; once the app is
// stopping, frames are dropped, so that pings are still answered while the running
// handlers finish. Events dropped then were not acknowledged: the plugin keeps them.
//
// The goroutine that reads an event runs its handler, and a new one takes over the reading:
// the handler starts, and its acknowledgement is written, without waiting for another thread
// to wake for it (handing the event to a goroutine of its own cost a click about 25 µs on
// loopback, BenchmarkClickToAck). gorilla/websocket allows one reader at a time: the new one
// starts once this one has read its frame whole.
func (c *conn) read(a *App) {
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && !c.closed.Load() {
					a.log.Warn("nothing from Mattermost, not even a ping, for 100 s: reconnecting")
				}
				c.err = err
			}
			c.closed.Store(true)
			_ = c.ws.Close()
			close(c.done)
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pingWait))
		if !a.opts.NoQuickAck {
			pongIfNoQuickAck(c)
		}
		var f frame
		if err := json.Unmarshal(msg, &f); err != nil {
			a.log.Warn("a websocket message could not be read", "error", err)
			continue
		}
		if a.stopping.Load() {
			if name, ours := pluginEvent(f.Event); ours {
				a.leftToPlugin(name)
			}
			continue
		}
		if work := a.receive(c, f, msg); work != nil {
			go c.read(a)
			work()
			return
		}
	}
}

// serve reads c's events and handles them until c closes (false) or ctx is done. greeted
// reports that Mattermost said hello: the connection worked.
func (a *App) serve(ctx context.Context, c *conn) (greeted bool) {
	go c.read(a)
	select {
	case <-ctx.Done():
		a.stop()
	case <-c.done:
		a.mu.Lock()
		if a.live == c {
			a.live = nil
		}
		a.mu.Unlock()
	}
	return c.greeted.Load()
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
