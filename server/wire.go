package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// The Go mirror of src/wire/envelope.rs: every document that crosses the wasm boundary is
// built and read here, from typed structs.

// handleCall is one input, with the clock, entropy, settings and the facts gathered so far.
type handleCall struct {
	Input   input  `json:"input"`
	NowMs   int64  `json:"now_ms"`
	Entropy string `json:"entropy"`
	Node    string `json:"node"`
	// Settings and Facts are JSON already (the core's own output, and the answers built
	// below): encode splices them in rather than re-validating them on every call.
	Settings json.RawMessage            `json:"-"`
	Facts    map[string]json.RawMessage `json:"-"`
	// Prefetched are answers at hand before the core asked (server/prefetch.go).
	Prefetched []prefetched `json:"-"`
}

// input is what happened; exactly one field is set.
type input struct {
	HTTP            *httpInput      `json:"http,omitempty"`
	UserDeactivated *userEvent      `json:"user_deactivated,omitempty"`
	WebSocket       *socketMessage  `json:"web_socket,omitempty"`
	Disconnected    *connectionEnd  `json:"disconnected,omitempty"`
	Timer           *timerDue       `json:"timer,omitempty"`
	Cluster         *clusterMessage `json:"cluster,omitempty"`
	Activated       *struct{}       `json:"activated,omitempty"`
	PostWillBeSaved *postToSave     `json:"post_will_be_saved,omitempty"`
	PostSaved       *postSaved      `json:"post_saved,omitempty"`
	PostDeleted     *postDeleted    `json:"post_deleted,omitempty"`
	Command         *commandInput   `json:"command,omitempty"`
}

// size is how large the input's payload is, for choosing its lane: the post a hook saves, a
// websocket message's data, a cluster message (an HTTP body travels beside the input).
func (in *input) size() int {
	switch {
	case in.PostWillBeSaved != nil:
		return len(in.PostWillBeSaved.Post)
	case in.PostSaved != nil:
		return len(in.PostSaved.Post)
	case in.WebSocket != nil:
		return len(in.WebSocket.Data)
	case in.Cluster != nil:
		return len(in.Cluster.Message)
	}
	return 0
}

// commandInput is a slash command someone typed (ExecuteCommand): Mattermost's CommandArgs.
type commandInput struct {
	Args *model.CommandArgs `json:"args"`
}

// postSaved is a post as saved (MessageHasBeenPosted with attachments, or MessageHasBeenUpdated
// for a post that has or had attachments).
type postSaved struct {
	Post   json.RawMessage `json:"post"`
	Edited bool            `json:"edited,omitempty"`
}

// postDeleted names a deleted post with attachments (MessageHasBeenDeleted).
type postDeleted struct {
	PostID string `json:"post_id"`
}

// postToSave is a post with attachments about to be saved (MessageWillBePosted/-Updated).
type postToSave struct {
	Post   json.RawMessage `json:"post"`
	Edited bool            `json:"edited"`
}

// socketMessage is a websocket message addressed to the plugin.
type socketMessage struct {
	ConnectionID string          `json:"connection_id"`
	UserID       string          `json:"user_id"`
	Action       string          `json:"action"`
	Seq          int64           `json:"seq"`
	Data         json.RawMessage `json:"data"`
}

// connectionEnd is the end of a watched connection.
type connectionEnd struct {
	ConnectionID string `json:"connection_id"`
	UserID       string `json:"user_id"`
}

// timerDue names a timer the core set.
type timerDue struct {
	Name string `json:"name"`
}

// clusterMessage is what another node's core sent.
type clusterMessage struct {
	Message json.RawMessage `json:"message"`
}

// userEvent names the user a hook is about.
type userEvent struct {
	UserID string `json:"user_id"`
}

// httpInput describes one HTTP request; its body travels beside the document.
type httpInput struct {
	Method       string `json:"method"`
	Path         string `json:"path"`
	UserID       string `json:"user_id,omitempty"`
	BodyTooLarge bool   `json:"body_too_large,omitempty"`
	// Internal: the request has no remote address, so Mattermost made it inside the server
	// (a click, a submission or a lookup it forwards to the plugin's URL).
	Internal bool `json:"internal,omitempty"`
}

// encodedCall is a call as it crosses into the core: the document, then the answers it
// measures, in one buffer. Answers travel beside the document, not inside it, so that the core
// reads each only when it asks for it, and compares a prefetched query without parsing it
// (src/wire/envelope.rs, `attached`).
type encodedCall struct {
	bytes []byte
	doc   int // the document's length; the answers follow it
}

// plainCall is a call without answers beside it.
func plainCall(doc []byte) encodedCall { return encodedCall{bytes: doc, doc: len(doc)} }

// encode writes {"handle":{...}} with the settings spliced in as they are, each answer's name
// and length, and after the document the answers: the facts' in the order the document lists
// them, then each prefetched query's exact text and its answer.
func (c *handleCall) encode() (encodedCall, error) {
	head, err := json.Marshal(c)
	if err != nil {
		return encodedCall{}, err
	}
	size, answers := len(head)+len(c.Settings)+64, 0
	for name, answer := range c.Facts {
		size += len(name) + 16
		answers += len(answer)
	}
	for _, pf := range c.Prefetched {
		size += 24
		answers += len(pf.query) + len(pf.answer)
	}
	buf := make([]byte, 0, size+answers)
	buf = append(buf, `{"handle":`...)
	buf = append(buf, head[:len(head)-1]...) // without its closing brace
	buf = append(buf, `,"settings":`...)
	buf = append(buf, c.Settings...)
	// Go's map order is random: the names are listed in one order, and the answers follow in
	// the same.
	order := make([]string, 0, len(c.Facts))
	if len(c.Facts) > 0 {
		buf = append(buf, `,"facts":[`...)
		for name, answer := range c.Facts {
			if len(order) > 0 {
				buf = append(buf, ',')
			}
			order = append(order, name)
			buf = append(buf, '[')
			buf = appendName(buf, name)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(len(answer)), 10)
			buf = append(buf, ']')
		}
		buf = append(buf, ']')
	}
	if len(c.Prefetched) > 0 {
		buf = append(buf, `,"prefetched":[`...)
		for i, pf := range c.Prefetched {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			buf = strconv.AppendInt(buf, int64(len(pf.query)), 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(len(pf.answer)), 10)
			buf = append(buf, ']')
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `}}`...)
	doc := len(buf)
	for _, name := range order {
		buf = append(buf, c.Facts[name]...)
	}
	for _, pf := range c.Prefetched {
		buf = append(buf, pf.query...)
		buf = append(buf, pf.answer...)
	}
	return encodedCall{bytes: buf, doc: doc}, nil
}

// appendName writes a fact's name as a JSON string. The core names facts like Rust fields
// (a-z, 0-9, _), which need no escaping; anything else goes through encoding/json.
func appendName(doc []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			quoted, _ := json.Marshal(name)
			return append(doc, quoted...)
		}
	}
	doc = append(doc, '"')
	doc = append(doc, name...)
	return append(doc, '"')
}

// configureCall asks the core which settings to run with when a settings hook fires.
type configureCall struct {
	Configure struct {
		Config   map[string]any  `json:"config"`
		Previous json.RawMessage `json:"previous,omitempty"`
		Event    string          `json:"event"`
		Server   serverFacts     `json:"server"`
	} `json:"configure"`
}

// serverFacts is what the core runs with of the server's own configuration.
type serverFacts struct {
	SiteURL             string `json:"site_url"`
	Clustered           bool   `json:"clustered"`
	IntegrationTimeoutS int64  `json:"integration_timeout_s"`
	CustomCommandsOff   bool   `json:"custom_commands_off"`
}

func newConfigureCall(config map[string]any, previous json.RawMessage, event string, server serverFacts) *configureCall {
	if config == nil {
		config = map[string]any{}
	}
	c := &configureCall{}
	c.Configure.Config, c.Configure.Previous, c.Configure.Event, c.Configure.Server = config, previous, event, server
	return c
}

// faultCall asks the core how to answer a failure outside it.
type faultCall struct {
	Fault struct {
		Detail string `json:"detail"`
	} `json:"fault"`
}

func newFaultCall(detail string) *faultCall {
	c := &faultCall{}
	c.Fault.Detail = detail
	return c
}

// infoCall asks for the constants the core was built with.
type infoCall struct{}

func (infoCall) MarshalJSON() ([]byte, error) { return []byte(`"info"`), nil }

// reply is any answer of the core; Kind says which fields are set.
type reply struct {
	Kind string `json:"kind"`
	// need_facts
	Queries []query `json:"queries"`
	// need_facts (carried out before the queries), decision, configured
	Effects []effect `json:"effects"`
	// decision
	Reply *decisionReply `json:"reply"`
	// configured
	Settings json.RawMessage `json:"settings"`
	Error    *string         `json:"error"`
	// Prefetch lists, by path, what the shim may answer before an input's first call.
	Prefetch []prefetchInfo `json:"prefetch"`
	// error
	Message string `json:"message"`
	// info
	PluginID      string              `json:"plugin_id"`
	Version       string              `json:"version"`
	MaxBodyBytes  int                 `json:"max_body_bytes"`
	FaultResponse *response           `json:"fault_response"`
	Lanes         map[string]laneInfo `json:"lanes"`
	// Standing are the queries whose cached answers go with the first call of every input.
	Standing []query `json:"standing"`
}

// laneInfo is what the core says of a lane: the fuel each of its calls may spend, the paths it
// serves, and (the bulk lane) the payload size from which any input is its (the interactive
// lane serves every other input).
type laneInfo struct {
	Fuel       int64    `json:"fuel"`
	Paths      []string `json:"paths"`
	HeavyBytes int      `json:"heavy_bytes"`
}

// laneNames are the lanes' names in the core's info.
var laneNames = [lanes]string{laneInteractive: "interactive", laneBulk: "bulk"}

// lane is the lane the core assigns to an input: by its path (empty for a hook), or by the
// size of its payload (a request body, a post), decided before the core is called.
func (r *reply) lane(path string, size int) int {
	bulk := r.Lanes[laneNames[laneBulk]]
	if slices.Contains(bulk.Paths, path) || (bulk.HeavyBytes > 0 && size > bulk.HeavyBytes) {
		return laneBulk
	}
	return laneInteractive
}

// fuel is the core's budget for a call on lane; unbounded before the core said.
func (r *reply) fuel(lane int) int64 {
	if f := r.Lanes[laneNames[lane]].Fuel; f > 0 {
		return f
	}
	return fuelUnbounded
}

// decisionReply is what the plugin answers whoever gave it the input; nothing for a hook.
type decisionReply struct {
	HTTP *response `json:"http"`
	// The answer of a post hook: the post to save instead, or why it is refused.
	Post *postReply `json:"post"`
	// The answer of ExecuteCommand.
	Command *commandReply `json:"command"`
}

type commandReply struct {
	Response json.RawMessage `json:"response"`
}

type postReply struct {
	Post      json.RawMessage `json:"post"`
	Rejection string          `json:"rejection"`
}

// query is one question the core asks about Mattermost, answered under its Name.
type query struct {
	Name            string          `json:"name"`
	Fact            string          `json:"fact"`
	CacheMs         int             `json:"cache_ms"`
	Fields          []string        `json:"fields"`
	PostID          string          `json:"post_id"`
	UserID          string          `json:"user_id"`
	ChannelID       string          `json:"channel_id"`
	TeamID          string          `json:"team_id"`
	Permission      string          `json:"permission"`
	Key             string          `json:"key"`
	Value           json.RawMessage `json:"value"`
	ExpireInSeconds int64           `json:"expire_in_seconds"`
	Expected        string          `json:"expected"`
	Request         json.RawMessage `json:"request"`
	// team_commands: only the commands with this trigger (ignoring case).
	Trigger string `json:"trigger"`
	// The answer the core expects, if it knows one: asked beside the core's next call
	// (nextRound).
	Likely json.RawMessage `json:"likely"`
	// kv_get_many
	Keys []string `json:"keys"`
	// channel_permissions, users: one question each, asked together
	ChannelIDs []string `json:"channel_ids"`
	UserIDs    []string `json:"user_ids"`
	// kv_cas
	Old string          `json:"old"`
	New json.RawMessage `json:"new"`
	// list_push, list_remove
	Item   json.RawMessage `json:"item"`
	Unique string          `json:"unique"`
	Cap    int             `json:"cap"`
	Field  string          `json:"field"`
	// await, held, claim
	EventID string          `json:"event_id"`
	UntilMs int64           `json:"until_ms"`
	Held    json.RawMessage `json:"held"`
	Answer  json.RawMessage `json:"answer"`
	// claim: the waiting input's decision, made with the answer (a decision reply's fields)
	Decision json.RawMessage `json:"decision"`
	// queue_push
	Count int `json:"count"`
	// count
	By      int64   `json:"by"`
	Ceiling *uint64 `json:"ceiling"`
	// kv_set_many
	Entries map[string]json.RawMessage `json:"entries"`
	// update_post
	Post json.RawMessage `json:"post"`
}

// effect is one thing the core asks the shim to do.
type effect struct {
	Type string `json:"type"`
	// publish
	Event        string         `json:"event"`
	UserID       string         `json:"user_id"`
	ConnectionID string         `json:"connection_id"`
	Data         map[string]any `json:"data"`
	Reliable     bool           `json:"reliable"`
	// wake
	EventID string          `json:"event_id"`
	Answer  json.RawMessage `json:"answer"`
	// wake_at
	Name string `json:"name"`
	AtMs int64  `json:"at_ms"`
	// send_ephemeral, create_post
	Post json.RawMessage `json:"post"`
	// register_command, unregister_command
	Trigger      string `json:"trigger"`
	DisplayName  string `json:"display_name"`
	Description  string `json:"description"`
	Hint         string `json:"hint"`
	Autocomplete bool   `json:"autocomplete"`
	// store, delete, count
	Key string `json:"key"`
	// count
	By int64 `json:"by"`
	// store
	Value           json.RawMessage `json:"value"`
	ExpireInSeconds int64           `json:"expire_in_seconds"`
	// forget
	Fact *query `json:"fact"`
	// remember: the fact's answer (its found value).
	Found json.RawMessage `json:"found"`
	// log (a JSON string), cluster (any JSON document)
	Message json.RawMessage `json:"message"`
	// log
	Level  string            `json:"level"`
	Fields map[string]string `json:"fields"`
}

// text is a log effect's message.
func (e *effect) text() string {
	var s string
	_ = json.Unmarshal(e.Message, &s)
	return s
}

// response is the HTTP answer; Body is a complete JSON document, or empty: nothing to write.
type response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	// ToMattermost: Mattermost made the request and reads the body whatever its headers.
	ToMattermost bool `json:"to_mattermost"`
}

// answerFound is a fact answer: what Mattermost answered.
func answerFound(value any) json.RawMessage {
	b, ok := value.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(value); err != nil {
			return answerError(fmt.Errorf("encoding the answer: %w", err))
		}
	}
	// Raw JSON goes in byte for byte: the core may hand it back (compare-and-delete), and
	// encoding/json would rewrite it (compacting, escaping <, > and &).
	return append(append([]byte(`{"found":`), b...), '}')
}

// factError is an error as the core reads it: Mattermost's status and id as data.
type factError struct {
	Status  int    `json:"status"`
	ID      string `json:"id"`
	Message string `json:"message"`
}

// answerAppError is a fact answer for an error of the plugin API.
func answerAppError(appErr *model.AppError) json.RawMessage {
	return answerFailed(factError{Status: appErr.StatusCode, ID: appErr.Id, Message: appErr.Error()})
}

// answerError is a fact answer for a failure in the shim itself.
func answerError(err error) json.RawMessage {
	return answerFailed(factError{Status: http.StatusInternalServerError, Message: err.Error()})
}

func answerFailed(e factError) json.RawMessage {
	b, _ := json.Marshal(map[string]factError{"failed": e})
	return b
}

// callCore sends one call document (and body) to the core and decodes its reply.
func (p *Plugin) callCore(ctx context.Context, lane int, call any, body []byte) (*reply, error) {
	var encoded encodedCall
	var err error
	if c, ok := call.(*handleCall); ok {
		encoded, err = c.encode()
	} else {
		var doc []byte
		doc, err = json.Marshal(call)
		encoded = plainCall(doc)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding the core's call: %w", err)
	}
	out, _, err := p.core.call(ctx, lane, p.info.fuel(lane), encoded, body)
	if err != nil {
		return nil, err
	}
	return decodeReply(out)
}

// decodeReply reads the core's reply. It is on every click's path twice, and encoding/json
// took about 30 µs for a click's two replies (its reflection over the reply's wide structs):
// segmentio's decoder reads the same documents into the same types about three times faster.
// Numbers stay json.Number so that event data keeps every digit (see gobSafe).
func decodeReply(out []byte) (*reply, error) {
	var r reply
	if _, err := json.Parse(out, &r, json.UseNumber); err != nil {
		return nil, fmt.Errorf("decoding the core's reply: %w", err)
	}
	if r.Kind == "error" {
		return nil, fmt.Errorf("the core could not read its call: %s", r.Message)
	}
	return &r, nil
}
