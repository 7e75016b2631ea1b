package main

import (
	"errors"
	"io"
	"slices"
	"sync"
)

// bodyRead is how much the first Read of a request's body asks for. Mattermost hands a plugin
// the body over a stream of its own (`plugin.connectIOReader`), and every Read on it is a
// round trip between the server's process and the plugin's: the Read's size goes one way and
// at most that many bytes come back. io.ReadAll asks 512 bytes first and grows from there, so a
// click's body (about 1 KiB) took two round trips and the stream's end a third. One Read of
// this size brings any click's whole body; the server then ends the stream, and the next Read
// sees the end without waiting for the server. A larger body is read as io.ReadAll would, each
// Read asking for as much as has come so far.
const bodyRead = 16 << 10

// bodyBuffers hold the first Read, kept between requests: most bodies are a few hundred bytes,
// and a fresh 16 KiB for each would be 16 KiB of garbage a click. Small enough that a flood of
// slow requests, each holding one while it trickles in, holds little.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, bodyRead); return &b }}

// readBody reads at most limit bytes; past that it stops and reports the body too large. No
// Read asks for more than the limit still allows.
func readBody(body io.Reader, limit int) ([]byte, bool, error) {
	if body == nil {
		return nil, false, nil
	}
	first := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(first)
	chunk := (*first)[:min(bodyRead, limit+1)]
	n, err := body.Read(chunk)
	data := append([]byte(nil), chunk[:n]...)
	for {
		switch {
		case len(data) > limit:
			return nil, true, nil
		case errors.Is(err, io.EOF):
			return data, false, nil
		case err != nil:
			return nil, false, err
		}
		// Later Reads go straight into the body, each asking for as much as has come so far.
		data = slices.Grow(data, max(len(data), bodyRead))
		chunk = data[len(data):cap(data)]
		n, err = body.Read(chunk[:min(len(chunk), limit+1-len(data))])
		data = data[:len(data)+n]
	}
}
