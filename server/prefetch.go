package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

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

// prefetchMarker is one marker id and where its value comes from: the Mattermost-User-Id
// header (user), or a string of the JSON body found by the keys of bodyPath. A request without
// a value for a marker that is not optional gets nothing prefetched.
type prefetchMarker struct {
	id       string
	user     bool
	bodyPath []string
	optional bool
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

// prefetchGuesses are the likely questions asked beside a first call: their real answers
// decide whether its reply stands.
type prefetchGuesses struct {
	queries []query
	// first is the first guess's index in the call's Prefetched; the others follow it.
	first int
	real  map[string]json.RawMessage
	wait  func()
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
				m.user = true
			case strings.HasPrefix(source, "body."):
				m.bodyPath = strings.Split(strings.TrimPrefix(source, "body."), ".")
			default:
				continue
			}
			plan.markers = append(plan.markers, m)
		}
		// One order on every node: the header first (no body read without a caller), then by id.
		slices.SortFunc(plan.markers, func(a, b prefetchMarker) int {
			if a.user != b.user {
				if a.user {
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
	for i := range values {
		values[i] = fmt.Sprintf("prefetchcheck%013d", i)
	}
	raw, q, ok := t.fill(markers, values)
	var decoded query
	return ok && json.Unmarshal(raw, &decoded) == nil && cacheKey(decoded) == cacheKey(q) &&
		projectionKey(decoded) == projectionKey(q) && bytes.Equal(decoded.Likely, q.Likely)
}

// prefetchFor says which prefetch list serves an input, and what fills it: a request by its
// path, a websocket message by its action (websocket:<action>, its data read as the body).
// Other inputs prefetch nothing.
func prefetchFor(in *input, body []byte) (key, user string, _ []byte, ok bool) {
	switch {
	case in.HTTP != nil && !in.HTTP.BodyTooLarge:
		return in.HTTP.Path, in.HTTP.UserID, body, true
	case in.WebSocket != nil:
		return "websocket:" + in.WebSocket.Action, in.WebSocket.UserID, in.WebSocket.Data, true
	}
	return "", "", nil, false
}

// prefetch attaches to call the answers at hand for its input. When the cache held every
// answer it looked for, it also attaches the likely questions' expected answers and starts
// asking them, and returns them to be confirmed; otherwise (nil) the first call cannot decide
// anyway, and nothing is asked before the core has read the request: a request naming ids
// nobody clicked lately, hostile or cold, costs no round trip more than before. A question
// this process answers from its own memory (what it knows of a wait) is answered at once.
func (p *Plugin) prefetch(call *handleCall, body []byte, now time.Time) *prefetchGuesses {
	key, user, body, ok := prefetchFor(&call.Input, body)
	plan := p.prefetchPlans[key]
	if !ok || plan == nil || len(body) > plan.maxBodyBytes {
		return nil
	}
	values, ok := plan.values(user, body)
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
	guesses := &prefetchGuesses{queries: likely, first: len(call.Prefetched), real: make(map[string]json.RawMessage, len(likely))}
	for i, q := range likely {
		call.Prefetched = append(call.Prefetched, prefetched{query: likelyRaw[i], answer: q.Likely})
	}
	guesses.wait = p.startAsking(likely, guesses.real, now, false)
	return guesses
}

// confirmed waits for the likely questions' real answers and puts them in place of the
// guesses; it reports whether every guess was right (a reply computed with them stands).
func (g *prefetchGuesses) confirmed(call *handleCall) bool {
	g.wait()
	right := true
	for i, q := range g.queries {
		guess := &call.Prefetched[g.first+i]
		real := g.real[q.Name]
		right = right && bytes.Equal(real, guess.answer)
		guess.answer = real
	}
	return right
}

// values finds each marker's value for one request: a Mattermost id, or "" when the request
// has none there (a missing field, another type, an id written with escapes, a marker's own
// id). false when a marker that is not optional has none: nothing is prefetched then. The body
// is read by one pass of a tokenizer that copies nothing, and only when the caller is known.
func (plan *prefetchPlan) values(user string, body []byte) ([]string, bool) {
	values := make([]string, len(plan.markers))
	scanned := false
	for i, m := range plan.markers {
		switch {
		case m.user:
			values[i] = user
		case !scanned:
			scanned = true
			plan.scan(body, values)
		}
		if !isMattermostID(values[i]) || slices.ContainsFunc(plan.markers, func(o prefetchMarker) bool { return o.id == values[i] }) {
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

// fill writes the request's values in place of the template's markers, in its text and in
// its decoded query; false when a marker has no value. A marker and its value are both ids,
// 26 characters, so the text keeps its length.
func (t *prefetchTemplate) fill(markers []prefetchMarker, values []string) ([]byte, query, bool) {
	raw := bytes.Clone(t.raw)
	q := t.q
	for _, i := range t.markers {
		marker, value := markers[i].id, values[i]
		if value == "" {
			return nil, query{}, false
		}
		for at := 0; ; {
			j := bytes.Index(raw[at:], []byte(marker))
			if j < 0 {
				break
			}
			copy(raw[at+j:], value)
			at += j + len(marker)
		}
		q.fillText(marker, value)
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
