package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/segmentio/encoding/json"
)

// Plugin is the shim: it owns the core's instance pool, gathers the facts the core asks for
// and carries out the effects it decides. It makes no product decision of its own.
type Plugin struct {
	plugin.MattermostPlugin

	core *core
	// life admits calls to the core between activation and deactivation, and no others.
	life lifecycle
	// info holds the constants the core was built with (from plugin.json).
	info reply
	// configuration is replaced whole on every change; read without a lock on the hot path.
	configuration atomic.Pointer[configuration]
	// cache keeps the answers the core says may be reused for a while.
	cache factCache
	// pending tracks the KV stores carried out off the request's path.
	pending pendingStores
	// node names this plugin process among the nodes of a cluster; minted at activation.
	node string
	// waiters hands bots' answers to the clicks waiting for them.
	waiters waiters
	// counters serializes this node's compare-and-set changes to small documents.
	counters counters
	// timers are the core's timers.
	timers timers
	// watched holds the connections whose end the core wants to hear of.
	watched sync.Map

	// clock and random feed the core its time and entropy; nil means the real ones. Tests set
	// them so that fixtures can name the exact event id and timestamp.
	clock  func() time.Time
	random func([]byte)
}

// maxFactRounds bounds the question-and-answer rounds of one input.
const maxFactRounds = 10

// poolSizes bounds the instance pools: instances are held only while the core computes, so one
// per CPU the process is given for the interactive lane keeps every core busy when it has them
// all (heavy work in flight: processors.go) without holding memory nobody can use; the bulk
// lane gets a quarter of that, at least one, so heavy work can never take more than its share
// of the machine.
func poolSizes() [lanes]int {
	cpus := procs.available()
	return [lanes]int{laneInteractive: min(max(cpus, 2), 16), laneBulk: min(max(cpus/4, 1), 4)}
}

// OnActivate compiles the core once, fills the pool and applies the settings.
func (p *Plugin) OnActivate() error {
	ctx := context.Background()
	start := time.Now()
	bundlePath, _ := p.API.GetBundlePath()
	c, err := newCore(ctx, poolSizes(), maxMemoryPages, compilationCacheDir(bundlePath))
	if err != nil {
		return fmt.Errorf("starting the core: %w", err)
	}
	p.core = c
	p.node = p.entropyID()
	info, err := p.callCore(ctx, laneInteractive, infoCall{}, nil)
	if err != nil {
		return fmt.Errorf("asking the core for its constants: %w", err)
	}
	p.info = *info
	c.heavyBytes.Store(int64(info.Lanes[laneNames[laneBulk]].HeavyBytes))
	if err := p.configure("activate"); err != nil {
		return err
	}
	p.life.open()
	// The heartbeat, and the hint to every bot that had subscribed to subscribe again.
	p.hook(input{Activated: &struct{}{}})
	sizes := poolSizes()
	p.API.LogInfo("plugin activated", "version", p.info.Version, "instances", sizes[laneInteractive], "bulk_instances", sizes[laneBulk], "startup_ms", time.Since(start).Milliseconds())
	return nil
}

// OnDeactivate stops the timers, lets no new call in and waits for those under way, finishes
// the stores under way, then releases the pools and the compiled module.
func (p *Plugin) OnDeactivate() error {
	p.timers.stop()
	p.life.close()
	p.pending.wg.Wait()
	if p.core == nil {
		return nil
	}
	return p.core.Close(context.Background())
}

// ServeHTTP hands every request under /plugins/<id> to the core, which routes it.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if !p.life.enter() {
		// Mattermost routes no request to a plugin that is not running; should one slip in
		// while it stops, it gets the last-resort answer the core gave at activation.
		p.lastResort(w)
		return
	}
	defer p.life.leave()
	defer func() {
		if x := recover(); x != nil {
			p.respondFault(w, fmt.Sprintf("panic in the shim: %v", x))
		}
	}()
	body, tooLarge, err := readBody(r.Body, declaredLength(r.Header), p.info.MaxBodyBytes)
	if err != nil {
		p.respondFault(w, "reading the request body: "+err.Error())
		return
	}
	cfg := p.getConfiguration()
	call := handleCall{
		Input: input{HTTP: &httpInput{
			Method:       r.Method,
			Path:         r.URL.Path,
			UserID:       r.Header.Get("Mattermost-User-Id"),
			BodyTooLarge: tooLarge,
			Internal:     madeByMattermost(r.RemoteAddr),
		}},
		NowMs:    p.now().UnixMilli(),
		Entropy:  p.entropy(),
		Node:     p.node,
		Settings: cfg.settings,
	}
	guess := p.prefetch(&call, cfg, body, time.UnixMilli(call.NowMs))
	rep, err := p.decide(r.Context(), p.info.lane(r.URL.Path, len(body)), &call, body, guess)
	if err == nil && (rep.Reply == nil || rep.Reply.HTTP == nil) {
		err = fmt.Errorf("the core answered %q without an HTTP response", rep.Kind)
	}
	if err != nil {
		p.respondFault(w, err.Error())
		return
	}
	p.carryOut(rep.Effects)
	writeResponse(w, rep.Reply.HTTP)
}

// decide runs one input through the core: while the core asks for facts, gather them and call
// again with every answer so far. The same call (clock, entropy, settings) serves every round.
// open is the guess prefetched for the first call, its likely questions asked beside it (nil:
// none); it stays open as one made in a later round does.
//
// A round decided on a likely answer still being asked (nextRound) may be followed by more
// rounds before that answer is in, as long as nothing is done on it: effects are carried out,
// a wait begins and a decision is returned only once every likely answer it rests on is known
// to be the expected one. When one is not, the rounds decided on it are dropped with the
// answers gathered for them, and the core is called again from where the guess was made.
func (p *Plugin) decide(ctx context.Context, lane int, call *handleCall, body []byte, open *openGuess) (*reply, error) {
	var awaited []string
	// However the input ends, its waits are over: acknowledgements that wait to learn of them
	// go on.
	defer func() {
		if len(awaited) > 0 {
			p.waiters.decided(awaited)
		}
	}()
	p.attachStanding(call)
	if open != nil {
		open.before = maps.Clone(call.Facts)
	}
	rep, err := p.callCore(ctx, lane, call, body)
	for round := 0; ; {
		// Whatever ends the input — an effect, a wait, a decision, a failure — waits for the
		// guess it rests on; a wrong guess takes the rounds decided on it back, failures
		// included.
		if open != nil && (err != nil || rep.Kind != "need_facts" || len(rep.Effects) > 0 || awaits(rep.Queries)) {
			if again, redone, againErr := p.settle(ctx, lane, call, body, &open, &round); redone {
				rep, err = again, againErr
				continue
			}
		}
		if err != nil || rep.Kind != "need_facts" {
			break
		}
		if round == maxFactRounds {
			err = fmt.Errorf("the core still asked for facts after %d rounds", round)
			continue
		}
		if call.Facts == nil {
			call.Facts = make(map[string]json.RawMessage, 4)
		}
		if i := slices.IndexFunc(rep.Queries, func(q query) bool { _, again := call.Facts[q.Name]; return again || q.Name == "" }); i >= 0 {
			err = fmt.Errorf("the core asked for %q again", rep.Queries[i].Name)
			continue
		}
		if awaits(rep.Queries) && len(rep.Queries) != 1 {
			// Refused before the wait is registered and the event sent: a bot must never get
			// an event whose input has failed.
			err = fmt.Errorf("the core asked %d questions with a wait for an answer", len(rep.Queries))
			continue
		}
		for _, q := range rep.Queries {
			// An input waits for its answer from before the event is sent.
			if q.Fact == "await" {
				p.waiters.expect(q.EventID, q.Held)
				awaited = append(awaited, q.EventID)
			}
		}
		p.carryOut(rep.Effects)
		round++
		if awaits(rep.Queries) {
			rep, err = p.waitForAnswer(ctx, lane, call, rep.Queries, body)
			continue
		}
		rep, err = p.nextRound(ctx, lane, call, rep.Queries, body, &open, &round)
	}
	if err == nil && rep.Kind != "decision" {
		err = fmt.Errorf("the core answered %q where a decision was due", rep.Kind)
	}
	return rep, err
}

// waitForAnswer waits for the bot's answer a round asks for (the await fact, which the core
// asks alone: decide checks it before the wait is registered) and calls the core with it, or
// with null when the time is up. When the acknowledgement that handed the answer over decided
// this input with it (the core decides a click on a stored post in the acknowledgement's own
// call: the answer is its response), that decision is the reply, and the core is not called
// again.
func (p *Plugin) waitForAnswer(ctx context.Context, lane int, call *handleCall, queries []query, body []byte) (*reply, error) {
	q := queries[0]
	got := p.waiters.await(q.EventID, q.Held, time.UnixMilli(q.UntilMs).Sub(p.now()))
	if got.decision != nil {
		rep, err := decodeReply(got.decision)
		if err == nil && rep.Reply != nil {
			rep.Kind = "decision"
			return rep, nil
		}
		// Never expected (the core wrote it), and the bot was told its answer applied: the
		// input decides with the answer itself, as it would have without the hand-over.
		p.API.LogError("a decision handed over with a bot's answer could not be read; the input decides itself", "error", fmt.Sprint(err))
	}
	answer := got.answer
	if answer == nil {
		answer = json.RawMessage("null")
	}
	call.Facts[q.Name] = result{value: answer}.answer()
	return p.callCore(ctx, lane, call, body)
}

// awaits reports whether a round asks to wait for a bot's answer (which begins the wait).
func awaits(queries []query) bool {
	return slices.ContainsFunc(queries, func(q query) bool { return q.Fact == "await" })
}

// openGuess is a likely answer the core was called with while the question is still being
// asked, and the answers as they were before it, to go back to if it turns out otherwise.
type openGuess struct {
	// round is the round the guess was made in: the one decided again when it is wrong.
	round   int
	guessed []query
	real    map[string]json.RawMessage
	wait    func()
	before  map[string]json.RawMessage
	// attached: the guesses went with the input's first call as prefetched answers, from
	// call.Prefetched[first] on (prefetch), rather than as facts.
	attached bool
	first    int
}

// settle waits for the open guess and closes it. When it was wrong, the answers are as they
// were before it (with the real ones) and the core is called again as the guess's round, which
// it answers with redone; the rounds decided on the guess are not counted (a wrong guess costs
// the core calls made on it, never a round trip).
func (p *Plugin) settle(ctx context.Context, lane int, call *handleCall, body []byte, open **openGuess, round *int) (again *reply, redone bool, err error) {
	guess := *open
	*open = nil
	if guess.confirm(call) {
		return nil, false, nil
	}
	*round = guess.round
	again, err = p.callCore(ctx, lane, call, body)
	return again, true, err
}

// confirm waits for the real answers and reports whether each is, byte for byte, the expected
// one. Either way the real answers are in call.Facts afterwards; when one is not, every answer
// gathered since the guess is dropped too: it was asked on the strength of the guess.
func (g *openGuess) confirm(call *handleCall) bool {
	g.wait()
	right := true
	for _, q := range g.guessed {
		right = right && bytes.Equal(g.real[q.Name], q.Likely)
	}
	if !right {
		call.Facts = g.before
	}
	for i, q := range g.guessed {
		if g.attached {
			call.Prefetched[g.first+i].answer = g.real[q.Name]
		} else {
			call.Facts[q.Name] = g.real[q.Name]
		}
	}
	return right
}

// attachStanding gives the first call the answers this node has cached to the core's standing
// queries (the signing key): the core asks only for what is still missing, so an input that
// needs nothing else (a post hook signing buttons) is decided in one call. Answers the cache
// does not hold, or holds too old for the query's cache_ms, are asked as usual when needed.
func (p *Plugin) attachStanding(call *handleCall) {
	now := time.UnixMilli(call.NowMs)
	for _, q := range p.info.Standing {
		answer, ok := p.cache.get(q, now)
		if !ok {
			continue
		}
		if call.Facts == nil {
			call.Facts = make(map[string]json.RawMessage, 4)
		}
		call.Facts[q.Name] = answer
	}
}

// nextRound gathers the facts the core asked for and calls it again.
//
// A question that comes with the answer the core expects (query.Likely: a clicker may read
// the channel they clicked in) is not waited for: the core is called with that answer while
// the question is asked, so its round trip to the server runs beside the core's work instead
// of before it, and the guess is left open (*open) for decide to confirm before anything is
// done on it. A call changes nothing (its effects are carried out by the caller, once the
// reply is the one used), so a reply left unused has done nothing.
//
// While a guess is open, a round whose questions this node has all cached goes on at once; one
// that would ask the server waits for the guess first, so that a wrong guess never costs a
// round trip.
func (p *Plugin) nextRound(ctx context.Context, lane int, call *handleCall, queries []query, body []byte, open **openGuess, round *int) (*reply, error) {
	now := p.now()
	var sure, guessed []query
	for _, q := range p.fromCache(queries, call.Facts, now) {
		if len(q.Likely) > 0 {
			guessed = append(guessed, q)
		} else {
			sure = append(sure, q)
		}
	}
	if *open != nil && (len(sure) > 0 || len(guessed) > 0) {
		// The answers taken from the cache for this round were asked on the guess too: a wrong
		// guess drops them with the rest.
		if again, redone, err := p.settle(ctx, lane, call, body, open, round); redone {
			return again, err
		}
	}
	if len(guessed) == 0 {
		p.startAsking(sure, call.Facts, now, true)()
		return p.callCore(ctx, lane, call, body)
	}
	real := make(map[string]json.RawMessage, len(guessed))
	waitGuessed := p.startAsking(guessed, real, now, false)
	p.startAsking(sure, call.Facts, now, true)()
	before := maps.Clone(call.Facts)
	for _, q := range guessed {
		call.Facts[q.Name] = q.Likely
	}
	*open = &openGuess{round: *round, guessed: guessed, real: real, wait: waitGuessed, before: before}
	return p.callCore(ctx, lane, call, body)
}

// respondFault asks the core how to answer a failure outside it (a trap, a shim panic).
func (p *Plugin) respondFault(w http.ResponseWriter, detail string) {
	rep, err := p.callCore(context.Background(), laneInteractive, newFaultCall(detail), nil)
	if err != nil || rep.Reply == nil || rep.Reply.HTTP == nil {
		p.API.LogError("the core could not answer a fault", "detail", detail, "error", fmt.Sprint(err))
		p.lastResort(w)
		return
	}
	p.carryOut(rep.Effects)
	writeResponse(w, rep.Reply.HTTP)
}

// lastResort writes the answer the core gave at activation for when it cannot be asked, or a
// bare 503 before it gave one.
func (p *Plugin) lastResort(w http.ResponseWriter) {
	if p.info.FaultResponse != nil {
		writeResponse(w, p.info.FaultResponse)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

func (p *Plugin) now() time.Time {
	if p.clock != nil {
		return p.clock()
	}
	return time.Now()
}

// entropyID is a fresh id of Mattermost's shape, for this node.
func (p *Plugin) entropyID() string {
	return model.NewId()
}

// entropy is 16 fresh random bytes in hex; the core mints the event id from them.
func (p *Plugin) entropy() string {
	var b [16]byte
	if p.random != nil {
		p.random(b[:])
	} else {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// UserHasBeenDeactivated tells the core, which says what no longer holds (a cached account).
func (p *Plugin) UserHasBeenDeactivated(_ *plugin.Context, user *model.User) {
	if user == nil {
		return
	}
	p.hook(input{UserDeactivated: &userEvent{UserID: user.Id}})
}

// hook runs an input that answers nobody (a hook with no reply) and carries out its effects.
func (p *Plugin) hook(in input) {
	p.hookReply(in)
}

// hookReply runs a hook's input through the core, carries out the effects and returns the
// decision (nil when the core failed, which is logged, or when the plugin is not running).
func (p *Plugin) hookReply(in input) *reply {
	if !p.life.enter() {
		return nil
	}
	defer p.life.leave()
	cfg := p.getConfiguration()
	call := handleCall{
		Input:    in,
		NowMs:    p.now().UnixMilli(),
		Entropy:  p.entropy(),
		Node:     p.node,
		Settings: cfg.settings,
	}
	guess := p.prefetch(&call, cfg, nil, time.UnixMilli(call.NowMs))
	rep, err := p.decide(context.Background(), p.info.lane("", in.size()), &call, nil, guess)
	if err != nil {
		p.API.LogError("the core could not decide a hook", "error", err.Error())
		return nil
	}
	p.carryOut(rep.Effects)
	return rep
}
