package main

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// bodyRead is how much the first Read of a request's body asks for. Mattermost hands a plugin
// the body over a stream of its own (`plugin.connectIOReader`), and every Read on it is a
// round trip between the server's process and the plugin's: the Read's size goes one way and
// at most that many bytes come back. io.ReadAll asks 512 bytes first and grows from there, so a
// click's body (about 1 KiB) took two round trips and the stream's end a third. One Read of
// this size brings any click's whole body; the server then ends the stream, and the next Read
// sees the end without waiting for the server. The first Read's size is sent as the stream
// opens, when the body will be read anyway (streams.go, firstAsk), so a click's body costs no
// round trip of its own. A larger body is read as io.ReadAll would, each Read asking for as
// much as has come so far.
const bodyRead = 16 << 10

// bodyBuffers hold the first Read, kept between requests: most bodies are a few hundred bytes,
// and a fresh 16 KiB for each would be 16 KiB of garbage a click. Small enough that a flood of
// slow requests, each holding one while it trickles in, holds little.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, bodyRead); return &b }}

// declaredLength is the body's length as the request's Content-Length header gives it, or -1
// when it gives none (a chunked body, or a request Mattermost made in its own memory).
// Mattermost hands a plugin the request's headers but not its ContentLength field.
func declaredLength(h http.Header) int64 {
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// readBody reads at most limit bytes; past that it stops and reports the body too large. No
// Read asks for more than the limit still allows. A body declared larger than the limit is
// reported too large before any of it is read: none of it crosses the stream, and neither
// this goroutine nor Mattermost's, which feeds the stream from the client's connection, waits
// for bytes a client may send slowly or never. A declared length is not trusted the other way:
// a body longer than it says is still cut one byte past the limit.
func readBody(body io.Reader, declared int64, limit int) ([]byte, bool, error) {
	if body == nil {
		return nil, false, nil
	}
	if declared > int64(limit) {
		return nil, true, nil
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
