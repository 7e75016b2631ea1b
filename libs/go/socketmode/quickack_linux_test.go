//go:build linux

package socketmode

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
)

// quickAckOn reads TCP_QUICKACK on c's socket (Linux reports 0 while it delays ACKs).
func quickAckOn(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return v
}

func delayAcks(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, _ := c.SyscallConn()
	if err := raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	}); err != nil {
		t.Fatal(err)
	}
}

// After every read, the bot's socket acknowledges at once again (Linux turns quick ACKs off
// on its own; the remedy turns them back on), and a plain socket does not.
func TestQuickAckIsRearmedAfterEveryRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			s, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(s, s) }() // echo
		}
	}()
	remedied, err := DialQuickAck(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer remedied.Close()
	qc, ok := remedied.(*quickAckConn)
	if !ok {
		t.Fatalf("DialQuickAck gave a %T, want a *quickAckConn", remedied)
	}
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	for name, tc := range map[string]struct {
		conn net.Conn
		tcp  *net.TCPConn
		want int
	}{"remedied": {remedied, qc.TCPConn, 1}, "plain": {plain, plain.(*net.TCPConn), 0}} {
		buf := make([]byte, 5)
		for round := range 3 {
			if _, err := tc.conn.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			delayAcks(t, tc.tcp) // as Linux does for an interactive connection
			if got := quickAckOn(t, tc.tcp); got != 0 {
				t.Fatalf("%s: TCP_QUICKACK = %d right after turning it off", name, got)
			}
			if _, err := io.ReadFull(tc.conn, buf); err != nil {
				t.Fatal(err)
			}
			if got := quickAckOn(t, tc.tcp); got != tc.want {
				t.Errorf("%s, read %d: TCP_QUICKACK = %d after the read, want %d", name, round, got, tc.want)
			}
		}
	}
	nodelay, err := qc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = nodelay.Control(func(fd uintptr) {
		if v, _ := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v != 1 {
			t.Errorf("TCP_NODELAY = %d on the bot's socket, want 1", v)
		}
	})
}

// The dialer the app uses: remedied unless Options.NoQuickAck.
func TestTheWebsocketIsRemediedUnlessTurnedOff(t *testing.T) {
	f := newFakeMM(t)
	for _, off := range []bool{false, true} {
		a := New(f.srv.URL, testToken, Options{NoQuickAck: off})
		c, err := a.dial("ws" + f.srv.URL[len("http"):])
		if err != nil {
			t.Fatal(err)
		}
		_, remedied := c.ws.UnderlyingConn().(*quickAckConn)
		if remedied == off {
			t.Errorf("NoQuickAck %v: the connection is a %T", off, c.ws.UnderlyingConn())
		}
		c.close()
		<-f.conns
	}
}
