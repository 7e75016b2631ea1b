package socketmode

import "testing"

// Where there is no TCP_QUICKACK, an unsolicited pong follows every message read, Mattermost's
// replies to the bot's own messages included (any small message can hold back the next).
func TestPongAfterEachMessageWithoutQuickAck(t *testing.T) {
	saved := tcpQuickAck
	tcpQuickAck = nil // as on macOS and Windows
	t.Cleanup(func() { tcpQuickAck = saved })
	for _, off := range []bool{false, true} {
		f := newFakeMM(t)
		s := startApp(t, f, Options{NoQuickAck: off}, nil)
		c := f.connection(t)
		c.event("posted", map[string]any{})
		c.event("typing", map[string]any{})
		// The reply to the authentication challenge, hello, subscribed, posted and typing were
		// read before the flush.
		s.flush(t, c)
		want := int32(5)
		if off {
			want = 0
		} else {
			// A pong goes out when the bot's loop takes a message, which may be after the
			// flush marker went out (a message with no handler is not waited for): wait for
			// them, then check there are no more.
			waitFor(t, "a pong for each message", func() bool { return c.pongs.Load() >= want })
			s.flush(t, c)
		}
		if got := c.pongs.Load(); got != want {
			t.Errorf("NoQuickAck %v: %d pongs for 5 messages, want %d", off, got, want)
		}
	}
}
