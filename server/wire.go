package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// The Go mirror of src/envelope.rs: the documents that cross the wasm boundary.

// httpInput describes one HTTP request to the core; the body travels beside it.
type httpInput struct {
	Method       string `json:"method"`
	Path         string `json:"path"`
	UserID       string `json:"user_id,omitempty"`
	BodyTooLarge bool   `json:"body_too_large,omitempty"`
	NowMs        int64  `json:"now_ms"`
	Entropy      string `json:"entropy"`
	// Settings and Facts are JSON already (the core's own output, and answerFound's): they
	// are spliced in by encode rather than re-validated by encoding/json on every request.
	Settings json.RawMessage   `json:"-"`
	Facts    []json.RawMessage `json:"-"`
}

// encode writes {"http":{...}} with the settings and facts spliced in as they are.
func (in *httpInput) encode() ([]byte, error) {
	head, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	doc := make([]byte, 0, len(head)+len(in.Settings)+64+256*len(in.Facts))
	doc = append(doc, `{"http":`...)
	doc = append(doc, head[:len(head)-1]...) // without its closing brace
	doc = append(doc, `,"settings":`...)
	doc = append(doc, in.Settings...)
	if in.Facts != nil {
		doc = append(doc, `,"facts":[`...)
		for i, fact := range in.Facts {
			if i > 0 {
				doc = append(doc, ',')
			}
			doc = append(doc, fact...)
		}
		doc = append(doc, ']')
	}
	return append(doc, `}}`...), nil
}

// reply is any answer of the core; Kind says which fields are set.
type reply struct {
	Kind string `json:"kind"`
	// need_facts
	Queries []factQuery `json:"queries"`
	// decision
	Effects  []effect  `json:"effects"`
	Response *response `json:"response"`
	// settings / invalid_settings
	Settings json.RawMessage `json:"settings"`
	Setting  string          `json:"setting"`
	// invalid_settings / error
	Message string `json:"message"`
	// info
	PluginID     string `json:"plugin_id"`
	Version      string `json:"version"`
	MaxBodyBytes int    `json:"max_body_bytes"`
}

// factQuery is one question the core asks about Mattermost.
type factQuery struct {
	Fact       string          `json:"fact"`
	PostID     string          `json:"post_id"`
	UserID     string          `json:"user_id"`
	ChannelID  string          `json:"channel_id"`
	Permission string          `json:"permission"`
	Key        string          `json:"key"`
	Expected   string          `json:"expected"`
	Request    json.RawMessage `json:"request"`
}

// effect is one thing the core asks the shim to do.
type effect struct {
	Type string `json:"type"`
	// publish
	Event  string         `json:"event"`
	UserID string         `json:"user_id"`
	Data   map[string]any `json:"data"`
	// store
	Key             string          `json:"key"`
	Value           json.RawMessage `json:"value"`
	ExpireInSeconds int64           `json:"expire_in_seconds"`
	// log
	Level   string            `json:"level"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// response is the HTTP answer; Body is a complete JSON document.
type response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// Fact answers, in the externally tagged form the core reads.
var answerNotFound = json.RawMessage(`"not_found"`)

func answerFound(value any) json.RawMessage {
	b, ok := value.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(value); err != nil {
			return answerFailed(fmt.Errorf("encoding the answer: %w", err))
		}
	}
	// Raw JSON goes in byte for byte: the core may hand it back (compare-and-delete), and
	// encoding/json would rewrite it (compacting, escaping <, > and &).
	return append(append([]byte(`{"found":`), b...), '}')
}

func answerFailed(err error) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"failed": err.Error()})
	return b
}

// callCore sends one input document (and body) to the core and decodes its reply. Numbers
// stay json.Number so that event data keeps every digit (see gobSafe).
func (p *Plugin) callCore(ctx context.Context, input any, body []byte) (*reply, error) {
	var doc []byte
	var err error
	if in, ok := input.(*httpInput); ok {
		doc, err = in.encode()
	} else {
		doc, err = json.Marshal(input)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding the core's input: %w", err)
	}
	out, err := p.core.call(ctx, doc, body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var r reply
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding the core's reply: %w", err)
	}
	if r.Kind == "error" {
		return nil, fmt.Errorf("the core could not read its input: %s", r.Message)
	}
	return &r, nil
}
