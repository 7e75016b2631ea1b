package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

// A warm slash command's team's own commands are read from the moment it arrives, before the
// core's first call (the command's first round prefetched: the owner and the person cached,
// the team's commands likely none), and its rounds go on beside the read: the round that sends
// the command to the bot is computed beside it (the rest of what it needs is cached), and the
// event goes out only once the read says the team has no command of its own by that name.
// When the team made one meanwhile, the rounds decided on the guess are dropped: nothing
// reaches the bot, and Mattermost runs the team's command.
func TestWarmCommandRoundsGoOnBesideTheTeamCommandsRead(t *testing.T) {
	for name, teamHasIt := range map[string]bool{"the team has no such command": false, "the team made one meanwhile": true} {
		t.Run(name, func(t *testing.T) {
			f := loadFixtures(t)["command_execute_answered_ephemeral"]
			require.NotNil(t, f)
			p, api := newTestPlugin(t)
			p.node = fixtureNode
			// No timer fires during the test (activation's would call the core beside the
			// command, and the test counts the command's calls).
			p.timers.stop()
			// As the golden runner: the command's time, then time up for its wait (the bot's
			// answer is handed over below), so that nothing waits for real.
			later := time.UnixMilli(f.NowMs).Add(time.Minute)
			calls := 0
			p.clock = func() time.Time {
				calls++
				if calls == 1 {
					return time.UnixMilli(f.NowMs)
				}
				return later
			}
			p.random = func(b []byte) { _, _ = hex.Decode(b, []byte(f.Entropy)) }
			// Warm: everything the command asks, but the team's commands, is cached.
			for _, q := range f.Expect.Queries {
				if q.CacheMs > 0 {
					var compact bytes.Buffer
					require.NoError(t, json.Compact(&compact, f.Facts[q.Name].Found))
					p.cache.put(q, []byte(`{"found":`+compact.String()+`}`), later)
				}
			}
			// The bot's answer, handed over before the command waits for it.
			for _, q := range f.Expect.Queries {
				if q.Fact == "await" {
					f.expectDeliveryFacts(t, api, q, f.Facts[q.Name])
				}
			}
			f.handOverAnswers(p)

			start := p.core.calls.Load()
			var coreCallsWhenRead atomic.Int64
			triggers := []*model.Command{}
			if teamHasIt {
				triggers = append(triggers, &model.Command{Trigger: "deploy", TeamId: "teamteamteamteamteamteam01"})
			}
			// The read answers once the core has been called twice during the command (the
			// first round, its answers at hand, and the round that sends), or after a while.
			api.On("ListCustomCommands", "teamteamteamteamteamteam01").Run(func(mock.Arguments) {
				for deadline := time.Now().Add(3 * time.Second); p.core.calls.Load()-start < 2 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				coreCallsWhenRead.Store(p.core.calls.Load() - start)
			}).Return(triggers, nil).Once()
			var published atomic.Int64
			api.On("PublishWebSocketEvent", mock.Anything, mock.Anything, mock.Anything).Run(func(mock.Arguments) {
				published.Add(1)
			}).Maybe()
			// What the plugin logs is not this test's business.
			for _, level := range []string{"LogDebug", "LogInfo"} {
				for n := 1; n <= 11; n += 2 {
					args := make([]any, n)
					for i := range args {
						args[i] = mock.Anything
					}
					api.On(level, args...).Maybe()
				}
			}

			var in struct {
				Command *commandInput `json:"command"`
			}
			require.NoError(t, json.Unmarshal(f.Input, &in))
			response, appErr := p.ExecuteCommand(nil, in.Command.Args)
			require.Nil(t, appErr)

			assert.Equal(t, int64(2), coreCallsWhenRead.Load(), "the round that sends was computed beside the read")
			if teamHasIt {
				assert.Nil(t, response, "handed back: Mattermost runs the team's own command")
				assert.Zero(t, published.Load(), "nothing reached the bot")
				assert.Equal(t, int64(3), p.core.calls.Load()-start, "the first round, the one after it, and the first decided again")
				api.AssertExpectations(t)
				return
			}
			assert.Equal(t, int64(1), published.Load())
			require.NotNil(t, response)
			assert.Equal(t, "Deploying *prod*…", response.Text)
			assert.Equal(t, int64(3), p.core.calls.Load()-start, "a core call fewer than the command's rounds, the first answered at hand")
			api.AssertExpectations(t)
		})
	}
}

// A command whose first round is at hand but whose next round must ask the server (the bot's
// registry, account and key not cached, nothing standing either) asks nothing on the guess: the
// read of the team's commands is awaited first, and when the team has the command, the round
// decided on the guess is dropped — no registry, account or key is read, nothing reaches the
// bot, and Mattermost runs the team's command. A wrong guess costs core calls, never a round
// trip to the server.
func TestAWrongGuessAsksTheServerNothing(t *testing.T) {
	f := loadFixtures(t)["command_execute_answered_ephemeral"]
	require.NotNil(t, f)
	p, api := newTestPlugin(t)
	p.node = fixtureNode
	p.timers.stop()
	now := time.UnixMilli(f.NowMs)
	p.clock = func() time.Time { return now }
	p.random = func(b []byte) { _, _ = hex.Decode(b, []byte(f.Entropy)) }
	for _, q := range p.info.Standing {
		p.cache.forget(q)
	}
	// At hand: the trigger's owner and the person; nothing else.
	for _, q := range f.Expect.Queries {
		if q.Name == "owner" || q.Name == "issuer" {
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, f.Facts[q.Name].Found))
			p.cache.put(q, []byte(`{"found":`+compact.String()+`}`), now)
		}
	}
	start := p.core.calls.Load()
	var read atomic.Bool
	api.On("ListCustomCommands", "teamteamteamteamteamteam01").Run(func(mock.Arguments) {
		// Answered only once the core has gone as far as the guess lets it.
		for deadline := time.Now().Add(3 * time.Second); p.core.calls.Load()-start < 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		read.Store(true)
	}).Return([]*model.Command{{Trigger: "deploy", TeamId: "teamteamteamteamteamteam01"}}, nil).Once()
	var askedOnTheGuess atomic.Int64
	for _, method := range []string{"KVGet", "GetUser"} {
		api.On(method, mock.Anything).Run(func(mock.Arguments) {
			if !read.Load() {
				askedOnTheGuess.Add(1)
			}
		}).Return(nil, nil).Maybe()
	}
	var published atomic.Int64
	api.On("PublishWebSocketEvent", mock.Anything, mock.Anything, mock.Anything).Run(func(mock.Arguments) { published.Add(1) }).Maybe()
	for n := 1; n <= 11; n += 2 {
		args := make([]any, n)
		for i := range args {
			args[i] = mock.Anything
		}
		api.On("LogInfo", args...).Maybe()
		api.On("LogDebug", args...).Maybe()
	}

	var in struct {
		Command *commandInput `json:"command"`
	}
	require.NoError(t, json.Unmarshal(f.Input, &in))
	response, appErr := p.ExecuteCommand(nil, in.Command.Args)
	require.Nil(t, appErr)

	assert.Nil(t, response, "handed back: Mattermost runs the team's own command")
	assert.Zero(t, published.Load(), "nothing reached the bot")
	assert.Zero(t, askedOnTheGuess.Load(), "nothing was asked of the server on the guess")
	assert.Equal(t, int64(2), p.core.calls.Load()-start, "the first round on the guess and, the next asking the server, the first decided again")
	api.AssertExpectations(t)
}
