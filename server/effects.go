package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/segmentio/encoding/json"
)

// carryOut performs the core's effects in order.
func (p *Plugin) carryOut(effects []effect) {
	for _, e := range effects {
		switch e.Type {
		case "publish":
			// The payload crosses a gob-encoded RPC to the server; see gobSafe.
			p.API.PublishWebSocketEvent(e.Event, gobSafe(e.Data).(map[string]any), &model.WebsocketBroadcast{
				UserId:              e.UserID,
				ConnectionId:        e.ConnectionID,
				ReliableClusterSend: e.Reliable,
			})
		case "wake":
			p.waiters.wake(e.EventID, e.Answer)
		case "cluster":
			ev := model.PluginClusterEvent{Id: clusterEventID, Data: e.Message}
			if appErr := p.API.PublishPluginClusterEvent(ev, model.PluginClusterEventSendOptions{SendType: model.PluginClusterEventSendTypeReliable}); appErr != nil {
				p.API.LogError("sending to the other nodes failed", "error", appErr.Error())
			}
		case "wake_at":
			p.timers.set(e.Name, time.UnixMilli(e.AtMs).Sub(p.now()), func(name string) {
				p.hook(input{Timer: &timerDue{Name: name}})
			})
		case "watch":
			p.watched.Store(e.ConnectionID, true)
		case "unwatch":
			p.watched.Delete(e.ConnectionID)
		case "send_ephemeral":
			var post model.Post
			if err := json.Unmarshal(e.Post, &post); err != nil {
				p.API.LogError("the core's ephemeral post is unreadable", "error", err.Error())
				continue
			}
			p.API.SendEphemeralPost(e.UserID, &post)
		case "update_ephemeral":
			var post model.Post
			if err := json.Unmarshal(e.Post, &post); err != nil {
				p.API.LogError("the core's ephemeral post is unreadable", "error", err.Error())
				continue
			}
			p.API.UpdateEphemeralPost(e.UserID, &post)
		case "create_post":
			var post model.Post
			if err := json.Unmarshal(e.Post, &post); err != nil {
				p.API.LogError("the core's post is unreadable", "error", err.Error())
				continue
			}
			if _, appErr := p.API.CreatePost(&post); appErr != nil {
				p.API.LogError("posting a bot's answer failed", "user_id", post.UserId, "channel_id", post.ChannelId, "error", appErr.Error())
			}
		case "register_command":
			if err := p.API.RegisterCommand(&model.Command{
				Trigger:          e.Trigger,
				DisplayName:      e.DisplayName,
				Description:      e.Description,
				AutoComplete:     e.Autocomplete,
				AutoCompleteDesc: e.Description,
				AutoCompleteHint: e.Hint,
			}); err != nil {
				p.API.LogError("registering a slash command failed", "trigger", e.Trigger, "error", err.Error())
			}
		case "unregister_command":
			_ = p.API.UnregisterCommand("", e.Trigger) // always nil: it removes what matches
		case "store":
			key, value, ttl := e.Key, e.Value, e.ExpireInSeconds
			p.pending.start(key, func() {
				if _, appErr := p.API.KVSetWithOptions(key, value, model.PluginKVSetOptions{ExpireInSeconds: ttl}); appErr != nil {
					p.API.LogWarn("storing a KV entry failed", "key", key, "error", appErr.Error())
				}
			})
		case "forget":
			if e.Fact != nil {
				p.cache.forget(*e.Fact)
			}
		case "remember":
			if e.Fact != nil {
				p.cache.remember(*e.Fact, e.Found, p.now())
			}
		case "delete":
			// Best effort, as the core asked (the entry expires anyway), off the request's path;
			// a later read of the key on this node waits for it.
			key := e.Key
			p.pending.start(key, func() {
				if appErr := p.API.KVDelete(key); appErr != nil {
					p.API.LogWarn("deleting a KV entry failed", "key", key, "error", appErr.Error())
				}
			})
		case "count":
			key, by, ttl := e.Key, e.By, e.ExpireInSeconds
			p.pending.start(key, func() {
				if r := p.counters.count(p.API, key, by, nil, ttl); r.appErr != nil || r.err != nil {
					p.API.LogWarn("changing a count failed", "key", key, "error", fmt.Sprint(r.appErr, r.err))
				}
			})
		case "log":
			p.log(e.Level, e.text(), e.Fields)
		default:
			p.API.LogError("the core asked for an unknown effect", "type", e.Type)
		}
	}
}

func (p *Plugin) log(level, message string, fields map[string]string) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, fields[k])
	}
	switch level {
	case "debug":
		p.API.LogDebug(message, pairs...)
	case "info":
		p.API.LogInfo(message, pairs...)
	case "warn":
		p.API.LogWarn(message, pairs...)
	default:
		p.API.LogError(message, pairs...)
	}
}

// gobSafe converts decoded JSON into values that survive PublishWebSocketEvent's gob-encoded
// RPC and come out of the server's JSON encoder as the same JSON: gob carries only registered
// types (map[string]any, []any and the basic types), so json.Number becomes int64, uint64 or
// float64. Maps, slices, strings, booleans and nil pass as they are.
//
// One loss cannot be avoided on this path: gob decodes an empty slice as a nil slice, which
// the server encodes as null, so an empty array reaches the bot as null (see README).
func gobSafe(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			v[k] = gobSafe(item)
		}
		return v
	case []any:
		for i, item := range v {
			v[i] = gobSafe(item)
		}
		return v
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u
			}
		}
		f, _ := v.Float64() // the core only emits numbers that fit a float64
		return f
	default:
		return v
	}
}
