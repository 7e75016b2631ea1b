package main

import (
	"errors"
	"io"
	"sync"
)

// bodyRead is how much one Read of a request's body asks for. Mattermost hands a plugin the body
// over a stream of its own (`plugin.connectIOReader`), and every Read on it is a round trip
// between the server's process and the plugin's: the Read's size goes one way and at most that
// many bytes come back. io.ReadAll asks 512 bytes first and grows from there, so a click's body
// (about 1 KiB) took two round trips and the stream's end a third. One Read of this size brings
// any click's whole body; the server then ends the stream, and the next Read sees the end
// without waiting for the server.
const bodyRead = 64 << 10

// bodyBuffers are the Read buffers, kept between requests: a fresh 64 KiB for each click would
// cost more than the round trip it saves.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, bodyRead); return &b }}

// readBody reads at most limit bytes; past that it stops and reports the body too large.
func readBody(body io.Reader, limit int) ([]byte, bool, error) {
	if body == nil {
		return nil, false, nil
	}
	buffer := bodyBuffers.Get().(*[]byte)
	defer bodyBuffers.Put(buffer)
	var data []byte
	for {
		// Never ask for more than one byte past the limit: what the server sends is what was
		// asked for, and a body past the limit is not read any further.
		chunk := (*buffer)[:min(len(*buffer), limit+1-len(data))]
		n, err := body.Read(chunk)
		data = append(data, chunk[:n]...)
		switch {
		case len(data) > limit:
			return nil, true, nil
		case errors.Is(err, io.EOF):
			return data, false, nil
		case err != nil:
			return nil, false, err
		}
	}
}
