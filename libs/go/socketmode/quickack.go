package socketmode

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The remedy for Mattermost's Nagle stall (SPEC §14).
//
// Mattermost turns TCP_NODELAY off on its side of every websocket. A small message it sent
// (the post_edited after an answer, say) that the bot has not acknowledged at the TCP level
// yet holds back the next one, the bot's next event, until the bot's delayed ACK: about
// 40 ms on Linux. So the bot acknowledges at once what it reads:
//
//   - on Linux, TCP_QUICKACK is set on the socket after every read. Linux clears it again
//     on its own (it is not sticky), hence after every read; setting it while an ACK is
//     pending sends that ACK at once;
//   - where TCP_QUICKACK does not exist (macOS, Windows), an unsolicited websocket pong
//     frame (RFC 6455 §5.5.3 allows one) follows every message read: the bot then has data
//     to send, and the ACK goes with it.
//
// TCP_NODELAY is set on the bot's own side too (Go's default, made explicit), so the bot's
// acknowledgements are never held back themselves. Options.NoQuickAck turns it all off.

// DialQuickAck is the websocket dialer's NetDialContext: a TCP connection with TCP_NODELAY,
// wrapped so that every read re-arms TCP_QUICKACK where the system has it. The App dials
// with it; a bot that holds its own model.WebSocketClient gets the same remedy on Linux with
//
//	model.NewWebSocketClientWithDialer(&websocket.Dialer{NetDialContext: socketmode.DialQuickAck}, url, token)
//
// (elsewhere it only sets TCP_NODELAY: send a pong after each message read, as the App does).
func DialQuickAck(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	_ = tcp.SetNoDelay(true)
	raw, err := tcp.SyscallConn()
	if err != nil || tcpQuickAck == nil {
		return c, nil
	}
	return &quickAckConn{TCPConn: tcp, raw: raw}, nil
}

// quickAckConn is a TCP connection that sets TCP_QUICKACK after every read that got data.
// It costs one setsockopt per read.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		_ = tcpQuickAck(c.raw)
	}
	return n, err
}

// pongIfNoQuickAck sends an unsolicited pong after a message read from c, where the system
// has no TCP_QUICKACK. WriteControl may be called beside another writer.
func pongIfNoQuickAck(c *conn) {
	if tcpQuickAck != nil || c.closed.Load() {
		return
	}
	_ = c.ws.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
}
