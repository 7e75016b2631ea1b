package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
)

// streamedBody behaves as Mattermost's request body stream does for a plugin
// (`plugin.connectIOReader` against `serveIOReader`): each Read sends its size to the server,
// which sends back at most that many bytes of the body and, once it sent fewer than asked, ends
// the stream. A Read made before the end is a round trip between the processes; a Read after
// it only finds the end.
type streamedBody struct {
	rest       []byte
	ended      bool
	roundTrips int
	asked      int
	// partial, when set, is the most one Read returns, as a stream's frames may split it.
	partial int
	fail    error
}

func (s *streamedBody) Read(b []byte) (int, error) {
	if s.ended {
		return 0, io.EOF
	}
	if s.fail != nil {
		return 0, s.fail
	}
	s.roundTrips++
	s.asked += len(b)
	n := copy(b, s.rest)
	s.rest = s.rest[n:]
	if n < len(b) {
		s.ended = true
	}
	if s.partial > 0 && n > s.partial {
		// The rest of what was sent arrives with the next Read, which asks again.
		s.rest = append(append([]byte(nil), b[s.partial:n]...), s.rest...)
		n = s.partial
		s.ended = false
	}
	return n, nil
}

func TestAClicksBodyIsReadInOneRoundTrip(t *testing.T) {
	click := bytes.Repeat([]byte("c"), 1200) // a click's body with a context: about 1 KiB
	s := &streamedBody{rest: click}
	body, tooLarge, err := readBody(s, -1, 1<<20)
	if err != nil || tooLarge || !bytes.Equal(body, click) {
		t.Fatalf("read %d bytes, too large %v, %v", len(body), tooLarge, err)
	}
	if s.roundTrips != 1 {
		t.Fatalf("%d round trips to the server for a 1.2 KB body, want 1", s.roundTrips)
	}
}

func TestABodyPastTheLimitIsNotReadFurther(t *testing.T) {
	for _, size := range []int{1000, 1001, 5000, 300 << 10} {
		s := &streamedBody{rest: bytes.Repeat([]byte("x"), size)}
		body, tooLarge, err := readBody(s, -1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if want := size > 1000; tooLarge != want || (!tooLarge && len(body) != size) {
			t.Fatalf("%d bytes against a limit of 1000: too large %v, %d read", size, tooLarge, len(body))
		}
		if s.asked > 1001 {
			t.Fatalf("%d bytes asked of a %d-byte body, limit 1000: no Read asks past the limit", s.asked, size)
		}
	}
}

func TestALargeBodyTakesFewRoundTrips(t *testing.T) {
	large := bytes.Repeat([]byte("l"), 1<<20)
	s := &streamedBody{rest: large}
	body, tooLarge, err := readBody(s, -1, 1<<20)
	if err != nil || tooLarge || len(body) != len(large) {
		t.Fatalf("read %d of %d bytes, too large %v, %v", len(body), len(large), tooLarge, err)
	}
	// Each Read asks for as much as has come so far: 16 KiB, 16, 32, … 512, then the end.
	if s.roundTrips > 8 {
		t.Fatalf("%d round trips for a 1 MiB body, want at most 8", s.roundTrips)
	}
}

func TestALargeBodyArrivingInPiecesIsReadWhole(t *testing.T) {
	large := make([]byte, 200<<10)
	for i := range large {
		large[i] = byte(i * 7)
	}
	s := &streamedBody{rest: append([]byte(nil), large...), partial: 3000}
	body, tooLarge, err := readBody(s, -1, 1<<20)
	if err != nil || tooLarge || !bytes.Equal(body, large) {
		t.Fatalf("read %d of %d bytes, too large %v, %v", len(body), len(large), tooLarge, err)
	}
}

func TestABrokenBodyStreamIsAnError(t *testing.T) {
	broken := errors.New("stream reset")
	if _, _, err := readBody(&streamedBody{fail: broken}, -1, 1000); !errors.Is(err, broken) {
		t.Fatalf("got %v, want the stream's error", err)
	}
	if body, tooLarge, err := readBody(nil, -1, 1000); body != nil || tooLarge || err != nil {
		t.Fatalf("no body: %q %v %v", body, tooLarge, err)
	}
	if body, tooLarge, err := readBody(&streamedBody{}, -1, 1000); len(body) != 0 || tooLarge || err != nil {
		t.Fatalf("an empty body: %q %v %v", body, tooLarge, err)
	}
}

// A hostile client declares a body past the limit and sends it slowly, or never: the plugin
// refuses it without asking the stream for a byte, so nothing waits for the client.
func TestABodyDeclaredPastTheLimitIsNotRead(t *testing.T) {
	s := &streamedBody{rest: bytes.Repeat([]byte("x"), 10)}
	body, tooLarge, err := readBody(s, 1001, 1000)
	if err != nil || !tooLarge || body != nil {
		t.Fatalf("declared 1001 bytes against a limit of 1000: %q, too large %v, %v", body, tooLarge, err)
	}
	if s.roundTrips != 0 {
		t.Fatalf("%d Reads of a body declared past the limit, want none", s.roundTrips)
	}
	// A body that says it is shorter than it is, or says nothing, is still cut at the limit.
	for _, declared := range []int64{10, 1000, -1} {
		s := &streamedBody{rest: bytes.Repeat([]byte("x"), 5000)}
		if _, tooLarge, err := readBody(s, declared, 1000); err != nil || !tooLarge || s.asked > 1001 {
			t.Fatalf("5000 bytes declared as %d: too large %v, %d asked, %v", declared, tooLarge, s.asked, err)
		}
	}
	// The length exactly at the limit is read.
	s = &streamedBody{rest: bytes.Repeat([]byte("x"), 1000)}
	if body, tooLarge, err := readBody(s, 1000, 1000); err != nil || tooLarge || len(body) != 1000 {
		t.Fatalf("1000 bytes declared as 1000: %d read, too large %v, %v", len(body), tooLarge, err)
	}
}

func TestTheDeclaredLengthIsReadFromTheHeader(t *testing.T) {
	for header, want := range map[string]int64{"": -1, "0": 0, "1048577": 1<<20 + 1, "-5": -1, "12abc": -1, "99999999999999999999": -1} {
		h := http.Header{}
		if header != "" {
			h.Set("Content-Length", header)
		}
		if got := declaredLength(h); got != want {
			t.Errorf("Content-Length %q: %d, want %d", header, got, want)
		}
	}
}
