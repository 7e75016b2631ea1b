package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// Answers at hand before a request's first call (src/facts.rs, Prefetch): the core lists, per
// path, the queries its first round asks when everything is warm, with marker ids where the
// request's own ids go. The shim fills them from the request and attaches what it holds — a
// cached answer, or the answer a likely question almost always gets, asked beside the call —
// each with the exact query it answers. The core uses one only for a query it asks that is,
// byte for byte, the filled one, so a warm click on a signed post is decided in one call.
// Which ids, which queries and when they may be used are the core's; the shim only copies ids.

// prefetchInfo is the core's description of what to prefetch for one path.
type prefetchInfo struct {
	Path         string            `json:"path"`
	MaxBodyBytes int               `json:"max_body_bytes"`
	Fill         map[string]string `json:"fill"`
	Queries      []json.RawMessage `json:"queries"`
}

// prefetchPlan is a prefetchInfo made ready at activation: each query decoded once, with the
// markers it holds.
type prefetchPlan struct {
	maxBodyBytes int
	markers      []prefetchMarker
	templates    []prefetchTemplate
}

// prefetchMarker is one marker id and where its value comes from. An input without a value
// for a marker that is not optional gets nothing prefetched.
type prefetchMarker struct {
	id       string
	source   markerSource
	bodyPath []string
	optional bool
}

// markerSource is where a marker's value comes from.
type markerSource int

const (
	// fromUser: the Mattermost-User-Id header, or the person who typed a command.
	fromUser markerSource = iota
	// fromBody: a string of the JSON body (a websocket message's data), found by bodyPath.
	fromBody
	// fromCommandTeam: a command's team.
	fromCommandTeam
	// fromCommandTrigger: a command's trigger, as the core reads it (commandTrigger); the one
	// value that is not an id.
	fromCommandTrigger
)

// prefetchSource is what an input's markers are filled from: its caller, and its body or its
// command.
type prefetchSource struct {
	user    string
	body    []byte
	command *model.CommandArgs
}

type prefetchTemplate struct {
	raw     []byte
	q       query
	markers []int
}

// prefetched is one answer attached to a first call, with the exact query it answers.
type prefetched struct {
	query  []byte
	answer json.RawMessage
}

// newPrefetchPlans prepares the core's prefetch lists, by path. A list the shim cannot read is
// left out, and so is a query it would fill otherwise as text than as a query (a marker in a
// field fillText does not know): prefetching only saves calls, it never decides anything.
func newPrefetchPlans(infos []prefetchInfo) map[string]*prefetchPlan {
	plans := make(map[string]*prefetchPlan, len(infos))
	for _, info := range infos {
		plan := &prefetchPlan{maxBodyBytes: info.MaxBodyBytes}
		for id, source := range info.Fill {
			m := prefetchMarker{id: id}
			source, m.optional = strings.CutSuffix(source, "?")
			switch {
			case !isMattermostID(id):
				continue
			case source == "user":
				m.source = fromUser
			case strings.HasPrefix(source, "body."):
				m.source, m.bodyPath = fromBody, strings.Split(strings.TrimPrefix(source, "body."), ".")
			case source == "command.team_id":
				m.source = fromCommandTeam
			case source == "command.trigger":
				m.source = fromCommandTrigger
			default:
				continue
			}
			plan.markers = append(plan.markers, m)
		}
		// One order on every node: the header first (no body read without a caller), then by id.
		slices.SortFunc(plan.markers, func(a, b prefetchMarker) int {
			if a.source != b.source && (a.source == fromUser || b.source == fromUser) {
				if a.source == fromUser {
					return -1
				}
				return 1
			}
			return strings.Compare(a.id, b.id)
		})
		for _, raw := range info.Queries {
			t := prefetchTemplate{raw: bytes.Clone(raw)}
			if json.Unmarshal(raw, &t.q) != nil {
				continue
			}
			for i, m := range plan.markers {
				if bytes.Contains(raw, []byte(m.id)) {
					t.markers = append(t.markers, i)
				}
			}
			if t.fillsAsText(plan.markers) {
				plan.templates = append(plan.templates, t)
			}
		}
		plans[info.Path] = plan
	}
	return plans
}

// fillsAsText reports whether filling t's query gives the query its filled text decodes to,
// checked once at activation with made-up ids: the cache is looked up with the one, the core
// compares the other.
func (t *prefetchTemplate) fillsAsText(markers []prefetchMarker) bool {
	values := make([]string, len(markers))
	for i, m := range markers {
		values[i] = fmt.Sprintf("prefetchcheck%013d", i)
		if m.source == fromCommandTrigger {
			// Of another length than a marker: the text is rewritten, not overwritten.
			values[i] = fmt.Sprintf("check.%d", i)
		}
	}
	raw, q, ok := t.fill(markers, values)
	var decoded query
	return ok && json.Unmarshal(raw, &decoded) == nil && cacheKey(decoded) == cacheKey(q) &&
		projectionKey(decoded) == projectionKey(q) && bytes.Equal(decoded.Likely, q.Likely)
}

// prefetchFor says which prefetch list serves an input, and what fills it: a request by its
// path, a websocket message by its action (websocket:<action>, its data read as the body), a
// slash command by "command". Other inputs prefetch nothing.
func prefetchFor(in *input, body []byte) (key string, _ prefetchSource, ok bool) {
	switch {
	case in.HTTP != nil && !in.HTTP.BodyTooLarge:
		return in.HTTP.Path, prefetchSource{user: in.HTTP.UserID, body: body}, true
	case in.WebSocket != nil:
		return "websocket:" + in.WebSocket.Action, prefetchSource{user: in.WebSocket.UserID, body: in.WebSocket.Data}, true
	case in.Command != nil && in.Command.Args != nil:
		return "command", prefetchSource{user: in.Command.Args.UserId, command: in.Command.Args}, true
	}
	return "", prefetchSource{}, false
}

// prefetch attaches to call the answers at hand for its input. When the cache held every
// answer it looked for, it also attaches the likely questions' expected answers and starts
// asking them, and returns them as a guess the first call is made on (decide keeps it open
// until something would be done on it); otherwise (nil) the first call cannot decide anyway,
// and nothing is asked before the core has read the input: a request naming ids nobody
// clicked lately, hostile or cold, costs no round trip more than before. A question this
// process answers from its own memory (what it knows of a wait) is answered at once. cfg is
// the configuration the call carries the settings of: its lists are the ones for them.
func (p *Plugin) prefetch(call *handleCall, cfg *configuration, body []byte, now time.Time) *openGuess {
	key, src, ok := prefetchFor(&call.Input, body)
	plan := cfg.prefetch[key]
	if !ok || plan == nil || len(src.body) > plan.maxBodyBytes {
		return nil
	}
	values, ok := plan.values(src)
	if !ok {
		return nil
	}
	var likely []query
	var likelyRaw [][]byte
	warm := true
	for _, t := range plan.templates {
		raw, q, ok := t.fill(plan.markers, values)
		switch {
		case !ok:
		case atHand(q):
			call.Prefetched = append(call.Prefetched, prefetched{query: raw, answer: p.ask(q).answer()})
		case q.CacheMs > 0:
			if answer, hit := p.cache.get(q, now); hit {
				call.Prefetched = append(call.Prefetched, prefetched{query: raw, answer: answer})
			} else {
				warm = false
			}
		case len(q.Likely) > 0:
			likely, likelyRaw = append(likely, q), append(likelyRaw, raw)
		}
	}
	if !warm || len(likely) == 0 {
		return nil
	}
	guess := &openGuess{guessed: likely, real: make(map[string]json.RawMessage, len(likely)), attached: true, first: len(call.Prefetched)}
	for i, q := range likely {
		call.Prefetched = append(call.Prefetched, prefetched{query: likelyRaw[i], answer: q.Likely})
	}
	guess.wait = p.startAsking(likely, guess.real, now, false)
	return guess
}

// values finds each marker's value for one input: a Mattermost id (a trigger for a command's),
// or "" when the input has none there (a missing field, another type, an id written with
// escapes, a marker's own id). false when a marker that is not optional has none: nothing is
// prefetched then. The body is read by one pass of a tokenizer that copies nothing, and only
// when the caller is known.
func (plan *prefetchPlan) values(src prefetchSource) ([]string, bool) {
	values := make([]string, len(plan.markers))
	scanned := false
	for i, m := range plan.markers {
		valid := isMattermostID
		switch {
		case m.source == fromUser:
			values[i] = src.user
		case m.source == fromCommandTeam && src.command != nil:
			values[i] = src.command.TeamId
		case m.source == fromCommandTrigger && src.command != nil:
			values[i], valid = commandTrigger(src.command.Command), isRegistrableTrigger
		case m.source == fromBody && !scanned:
			scanned = true
			plan.scan(src.body, values)
		}
		if !valid(values[i]) || slices.ContainsFunc(plan.markers, func(o prefetchMarker) bool { return strings.Contains(values[i], o.id) }) {
			values[i] = ""
		}
		if values[i] == "" && !m.optional {
			return nil, false
		}
	}
	return values, true
}

// maxPrefetchDepth is the deepest a body path goes (body.context.user_id is 2).
const maxPrefetchDepth = 4

// scan puts into values the string at each body marker's path, the last one when a key comes
// twice (as a JSON reader keeps it). Arrays are looked into by no path.
func (plan *prefetchPlan) scan(body []byte, values []string) {
	var keys [maxPrefetchDepth + 1][]byte
	var object [maxPrefetchDepth + 2]bool
	tok := json.NewTokenizer(body)
	for tok.Next() {
		d := tok.Depth
		switch {
		case tok.Delim == '{' || tok.Delim == '[':
			if d+1 < len(object) {
				object[d+1] = tok.Delim == '{'
			}
		case tok.Delim != 0 || d < 1 || d > maxPrefetchDepth:
		case tok.IsKey:
			keys[d] = tok.Value
		case tok.Value.String():
			for i, m := range plan.markers {
				if len(m.bodyPath) == d && plan.at(keys[1:d+1], object[1:d+1], m.bodyPath) {
					values[i] = plainID(tok.Value)
				}
			}
		}
	}
}

// at reports whether the keys leading to a value, each in an object, are path.
func (plan *prefetchPlan) at(keys [][]byte, object []bool, path []string) bool {
	for i, k := range keys {
		// A key is compared as written: one with escapes names no path.
		if !object[i] || len(k) != len(path[i])+2 || string(k[1:len(k)-1]) != path[i] {
			return false
		}
	}
	return true
}

// plainID is the id a JSON string holds when it is written plainly (`"` and 26 characters
// a-z, 0-9), or "".
func plainID(raw []byte) string {
	if len(raw) != 28 || raw[0] != '"' || raw[27] != '"' || !isMattermostID(string(raw[1:27])) {
		return ""
	}
	return string(raw[1:27])
}

// commandTrigger is a command's trigger as the core reads it (src/command/execute.rs): the
// first word, its leading slashes left out, in ASCII lowercase. Read otherwise, it would fill
// queries the command does not ask, which the core never uses: a lookup for nothing.
func commandTrigger(command string) string {
	typed := strings.TrimLeftFunc(command, unicode.IsSpace)
	if end := strings.IndexFunc(typed, unicode.IsSpace); end >= 0 {
		typed = typed[:end]
	}
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimLeft(typed, "/"))
}

// isRegistrableTrigger reports whether a bot could have registered t (src/command/mod.rs): 1
// to 64 of a-z, 0-9, '-', '_' and '.'. Nothing else is written into a query's text, where it
// would need escaping.
func isRegistrableTrigger(t string) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isMattermostID reports whether s has the shape of a Mattermost id: 26 characters a-z, 0-9.
func isMattermostID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// fill writes the input's values in place of the template's markers, in its text and in its
// decoded query; false when a marker has no value. An id is as long as its marker, so the text
// keeps its length and is overwritten; a trigger may be shorter or longer, and rewrites it.
func (t *prefetchTemplate) fill(markers []prefetchMarker, values []string) ([]byte, query, bool) {
	raw := bytes.Clone(t.raw)
	q := t.q
	for _, i := range t.markers {
		marker, value := markers[i].id, values[i]
		if value == "" {
			return nil, query{}, false
		}
		q.fillText(marker, value)
		if len(value) != len(marker) {
			raw = bytes.ReplaceAll(raw, []byte(marker), []byte(value))
			continue
		}
		for at := 0; ; {
			j := bytes.Index(raw[at:], []byte(marker))
			if j < 0 {
				break
			}
			copy(raw[at+j:], value)
			at += j + len(marker)
		}
	}
	return raw, q, true
}

// fillText replaces marker with value in every text of q that names something (what the cache
// key and the plugin API read). TestPrefetchFillsTheQueryAsItsText checks it against decoding
// the filled text.
func (q *query) fillText(marker, value string) {
	for _, s := range [...]*string{&q.PostID, &q.UserID, &q.ChannelID, &q.TeamID, &q.Key, &q.Trigger, &q.EventID} {
		*s = strings.ReplaceAll(*s, marker, value)
	}
	if len(q.Keys) > 0 {
		keys := make([]string, len(q.Keys))
		for i, k := range q.Keys {
			keys[i] = strings.ReplaceAll(k, marker, value)
		}
		q.Keys = keys
	}
}
