package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// fromCache puts the answers the cache holds into answers, and returns the queries still to
// ask.
func (p *Plugin) fromCache(queries []query, answers map[string]json.RawMessage, now time.Time) []query {
	var asked []query
	for _, q := range queries {
		if answer, ok := p.cache.get(q, now); ok {
			answers[q.Name] = answer
		} else {
			asked = append(asked, q)
		}
	}
	return asked
}

// startAsking asks the plugin API the queries, concurrently (each is an RPC round trip to the
// server), and returns a function that waits for them and puts each answer into answers (and
// the cache). Encoding the answers happens there, on the calling goroutine, whose stack is
// grown already (a fresh goroutine would grow its own for encoding/json on every request).
// With inline, the last query is asked on the calling goroutine, before startAsking returns.
func (p *Plugin) startAsking(asked []query, answers map[string]json.RawMessage, now time.Time, inline bool) (wait func()) {
	if len(asked) == 0 {
		return func() {}
	}
	results := make([]result, len(asked))
	generation := p.cache.generation()
	var wg sync.WaitGroup
	n := len(asked)
	if inline && n > 0 {
		n--
	}
	for i, q := range asked[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic here would end the plugin process (no caller's recover reaches another
			// goroutine): it becomes a failed answer instead, the core's to report. What
			// panicked is not said: the reason reaches the person who clicked.
			defer func() {
				if recover() != nil {
					results[i] = result{err: fmt.Errorf("asking for %s failed inside the plugin", q.Fact)}
				}
			}()
			results[i] = p.ask(q)
		}()
	}
	if n < len(asked) {
		results[n] = p.ask(asked[n])
	} else if n > 0 {
		// Let the questions go out before this goroutine goes on: it goes on into the core,
		// which does not yield, and on a busy machine no other processor may take them up
		// until it is done. Each runs here until it waits for its answer (an RPC sends its
		// request first), then this goroutine resumes.
		runtime.Gosched()
	}
	return func() {
		wg.Wait()
		for i, r := range results {
			answer := r.answer()
			if len(asked[i].Fields) > 0 && r.err == nil && r.appErr == nil {
				answer = answerFound(project(answer[len(`{"found":`):len(answer)-1], asked[i].Fields))
			}
			p.cache.putAsked(asked[i], answer, now, generation)
			answers[asked[i].Name] = answer
		}
	}
}

// project keeps only fields of the JSON object value, as the core asked: it reads a few
// fields of large objects (a user's five of fifty), so the call and the cache carry no more.
// Anything but an object is left as it is.
func project(value json.RawMessage, fields []string) json.RawMessage {
	var all map[string]json.RawMessage
	if json.Unmarshal(value, &all) != nil {
		return value
	}
	kept := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		if v, ok := all[f]; ok {
			kept[f] = v
		}
	}
	out, err := json.Marshal(kept)
	if err != nil {
		return value
	}
	return out
}

// result is what the plugin API said, before it is encoded for the core.
type result struct {
	value  any
	appErr *model.AppError
	err    error
}

// atHand reports whether this process answers q from its own memory, changing nothing and
// asking no one: what it knows of a wait (which may wait, briefly, for the input that waited to
// be decided). Such a question costs nothing to answer before a first call.
func atHand(q query) bool {
	return q.Fact == "held"
}

// ask carries out one query. It reports what Mattermost said and nothing more: whether a 404
// means "not stored" or "try again" is the core's to decide. A wait for a bot's answer (await)
// is not asked here: decide waits for it (waitForAnswer), alone in its round.
func (p *Plugin) ask(q query) result {
	switch q.Fact {
	case "post":
		post, appErr := p.API.GetPost(q.PostID)
		return result{value: post, appErr: appErr}
	case "user":
		user, appErr := p.API.GetUser(q.UserID)
		return result{value: user, appErr: appErr}
	case "channel":
		channel, appErr := p.API.GetChannel(q.ChannelID)
		return result{value: channel, appErr: appErr}
	case "team":
		team, appErr := p.API.GetTeam(q.TeamID)
		return result{value: team, appErr: appErr}
	case "channel_permission":
		permission := permissionByID(q.Permission)
		if permission == nil {
			return result{err: fmt.Errorf("unknown permission %q", q.Permission)}
		}
		return result{value: p.API.HasPermissionToChannel(q.UserID, q.ChannelID, permission)}
	case "channel_permissions":
		permission := permissionByID(q.Permission)
		if permission == nil {
			return result{err: fmt.Errorf("unknown permission %q", q.Permission)}
		}
		allowed := make([]bool, len(q.ChannelIDs))
		eachAtOnce(len(q.ChannelIDs), func(i int) {
			allowed[i] = p.API.HasPermissionToChannel(q.UserID, q.ChannelIDs[i], permission)
		})
		out := make(map[string]bool, len(allowed))
		for i, id := range q.ChannelIDs {
			out[id] = allowed[i]
		}
		return result{value: out}
	case "users":
		// Each user's own answer, found or Mattermost's error: the core tells a user that
		// does not exist from a store that failed.
		answers := make([]json.RawMessage, len(q.UserIDs))
		eachAtOnce(len(q.UserIDs), func(i int) {
			user, appErr := p.API.GetUser(q.UserIDs[i])
			answers[i] = result{value: user, appErr: appErr}.answer()
		})
		out := make(map[string]json.RawMessage, len(answers))
		for i, id := range q.UserIDs {
			out[id] = answers[i]
		}
		return result{value: out}
	case "team_permission":
		permission := permissionByID(q.Permission)
		if permission == nil {
			return result{err: fmt.Errorf("unknown permission %q", q.Permission)}
		}
		return result{value: p.API.HasPermissionToTeam(q.UserID, q.TeamID, permission)}
	case "system_permission":
		permission := permissionByID(q.Permission)
		if permission == nil {
			return result{err: fmt.Errorf("unknown permission %q", q.Permission)}
		}
		return result{value: p.API.HasPermissionTo(q.UserID, permission)}
	case "privacy_settings":
		return p.privacySettings()
	case "kv_get":
		p.pending.wait(q.Key)
		value, appErr := p.API.KVGet(q.Key)
		switch {
		case appErr != nil:
			return result{appErr: appErr}
		case value == nil:
			return result{value: json.RawMessage("null")}
		case !json.Valid(value):
			return result{err: fmt.Errorf("the value stored under %q is not JSON", q.Key)}
		}
		return result{value: json.RawMessage(value)}
	case "kv_set":
		_, appErr := p.API.KVSetWithOptions(q.Key, []byte(q.Value), model.PluginKVSetOptions{ExpireInSeconds: q.ExpireInSeconds})
		return result{value: true, appErr: appErr}
	case "kv_create":
		// OldValue nil: set only if nothing is stored (Mattermost's insert-if-absent).
		created, appErr := p.API.KVSetWithOptions(q.Key, []byte(q.Value), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: q.ExpireInSeconds})
		return result{value: created, appErr: appErr}
	case "kv_create_any":
		// Insert-if-absent on each key in the core's order: the first that was free, or null.
		for _, key := range q.Keys {
			created, appErr := p.API.KVSetWithOptions(key, []byte(q.Value), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: q.ExpireInSeconds})
			if appErr != nil {
				return result{appErr: appErr}
			}
			if created {
				return result{value: key}
			}
		}
		return result{value: nil}
	case "mattermost_commands":
		return p.mattermostCommands()
	case "team_commands":
		return p.teamCommands(q.TeamID, q.Trigger)
	case "kv_consume":
		deleted, appErr := p.API.KVCompareAndDelete(q.Key, []byte(q.Expected))
		return result{value: deleted, appErr: appErr}
	case "kv_get_many":
		return p.kvGetMany(q.Keys)
	case "kv_cas":
		ok, appErr := p.API.KVSetWithOptions(q.Key, q.New, model.PluginKVSetOptions{Atomic: true, OldValue: []byte(q.Old), ExpireInSeconds: q.ExpireInSeconds})
		return result{value: ok, appErr: appErr}
	case "list_push":
		return p.listPush(q)
	case "list_remove":
		return p.listRemove(q)
	case "held":
		return result{value: p.waiters.heldState(q.EventID)}
	case "claim":
		return result{value: p.waiters.claim(q.EventID, q.Answer, q.Decision)}
	case "queue_push":
		return p.counters.queuePush(p.API, q.Key, q.Cap, max(q.Count, 1), q.ExpireInSeconds)
	case "count":
		return p.counters.count(p.API, q.Key, q.By, q.Ceiling, q.ExpireInSeconds)
	case "kv_set_many":
		return p.kvSetMany(q.Entries, q.ExpireInSeconds)
	case "update_post":
		var post model.Post
		if err := json.Unmarshal(q.Post, &post); err != nil {
			return result{err: fmt.Errorf("reading the post to update: %w", err)}
		}
		_, appErr := p.API.UpdatePost(&post)
		return result{value: true, appErr: appErr}
	case "open_dialog":
		var request model.OpenDialogRequest
		if err := json.Unmarshal(q.Request, &request); err != nil {
			return result{err: fmt.Errorf("reading the dialog request: %w", err)}
		}
		return result{value: true, appErr: p.API.OpenInteractiveDialog(request)}
	default:
		return result{err: fmt.Errorf("unknown fact %q", q.Fact)}
	}
}

// privacySettings is what the core needs of the server's configuration to show entities as
// the REST API shows them.
func (p *Plugin) privacySettings() result {
	cfg := p.API.GetConfig()
	if cfg == nil {
		return result{err: fmt.Errorf("the server's configuration could not be read")}
	}
	value := func(b *bool) bool { return b != nil && *b }
	locale := ""
	if cfg.LocalizationSettings.DefaultClientLocale != nil {
		locale = *cfg.LocalizationSettings.DefaultClientLocale
	}
	return result{value: map[string]any{
		"show_email_address":    value(cfg.PrivacySettings.ShowEmailAddress),
		"show_full_name":        value(cfg.PrivacySettings.ShowFullName),
		"default_client_locale": locale,
		"compliance_enabled":    value(cfg.ComplianceSettings.Enable),
	}}
}

// answer encodes a result in the form the core reads.
func (r result) answer() json.RawMessage {
	switch {
	case r.err != nil:
		return answerError(r.err)
	case r.appErr != nil:
		return answerAppError(r.appErr)
	default:
		return answerFound(r.value)
	}
}

func permissionByID(id string) *model.Permission {
	for _, permission := range model.AllPermissions {
		if permission.Id == id {
			return permission
		}
	}
	return nil
}
