package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
)

func TestConfiguration(t *testing.T) {
	tests := map[string]struct {
		section  map[string]any
		want     string // the settings in force afterwards, or "" when refused
		refusal  string
		keepsOld bool
	}{
		"defaults when nothing is saved": {
			section: nil,
			want:    `{"verify_provenance":true,"allow_unverified_ephemeral":false,"dialog_session_minutes":30,"answer_window_ms":2500,"keep_hours":24,"kept_per_bot":1000,"refuse_dead_buttons":false,"site_url":"https://chat.example.com","clustered":false,"trigger_seconds":30,"custom_commands_off":false}`,
		},
		"saved values, keys lowercased by Mattermost": {
			section: map[string]any{"verifyprovenance": false, "allowunverifiedephemeral": true},
			want:    `{"verify_provenance":false,"allow_unverified_ephemeral":true,"dialog_session_minutes":30,"answer_window_ms":2500,"keep_hours":24,"kept_per_bot":1000,"refuse_dead_buttons":false,"site_url":"https://chat.example.com","clustered":false,"trigger_seconds":30,"custom_commands_off":false}`,
		},
		"a value of the wrong type is refused, naming the setting": {
			section:  map[string]any{"allowunverifiedephemeral": "sometimes"},
			refusal:  `"Deliver clicks on ephemeral messages without verification" (AllowUnverifiedEphemeral) must be true or false`,
			keepsOld: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, api := newTestPlugin(t)
			before := string(p.getConfiguration().settings)
			id := p.info.PluginID
			require.Equal(t, "mattermost-plugin-interactive-message-actions-to-websocket-proxy", id)

			cfg := testServerConfig()
			cfg.PluginSettings.Plugins = map[string]map[string]any{id: tc.section}
			replaced, err := p.ConfigurationWillBeSaved(cfg)
			assert.Nil(t, replaced, "the configuration is never rewritten")

			api.ExpectedCalls = nil
			api.On("GetPluginConfig").Return(tc.section)
			api.On("GetConfig").Return(testServerConfig())
			if tc.refusal != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.refusal)
				api.On("LogError", "the new settings are invalid; keeping the previous ones", "error", mock.Anything).Once()
				assert.Error(t, p.OnConfigurationChange())
			} else {
				require.NoError(t, err)
				require.NoError(t, p.OnConfigurationChange())
			}
			got := string(p.getConfiguration().settings)
			if tc.keepsOld {
				assert.Equal(t, before, got)
			} else {
				assert.JSONEq(t, tc.want, got)
			}
			api.AssertExpectations(t)
		})
	}
}

// TestSettingsChangeTakesEffectOnTheNextClick turns verification off through
// OnConfigurationChange and checks the very next click is delivered unverified.
func TestSettingsChangeTakesEffectOnTheNextClick(t *testing.T) {
	p, api := newTestPlugin(t)
	api.ExpectedCalls = nil
	api.On("GetPluginConfig").Return(map[string]any{"verifyprovenance": false})
	api.On("GetConfig").Return(testServerConfig())
	require.NoError(t, p.OnConfigurationChange())

	f := loadFixtures(t)["verification_off"]
	f.expectFactsWarm(t, api)
	allowDelivery(api)
	var data map[string]any
	api.On("PublishWebSocketEvent", "action", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		data = args.Get(1).(map[string]any)
	}).Once()
	w := httptest.NewRecorder()
	p.ServeHTTP(nil, w, f.httpRequest(t))
	require.Equal(t, 200, w.Code)
	proxy, _ := json.Marshal(data["proxy"])
	assert.Contains(t, string(proxy), `"verified":false`)
	api.AssertExpectations(t)
}

// With custom slash commands off on the server, the core is told so (and asks no team's
// commands: fixture commands/execute_with_custom_commands_off_asks_no_team_commands); unset is
// Mattermost's default, on.
func TestServerFactsSayWhenCustomSlashCommandsAreOff(t *testing.T) {
	cfg := testServerConfig()
	assert.False(t, serverFactsOf(cfg).CustomCommandsOff, "unset")
	cfg.ServiceSettings.EnableCommands = model.NewPointer(true)
	assert.False(t, serverFactsOf(cfg).CustomCommandsOff, "on")
	cfg.ServiceSettings.EnableCommands = model.NewPointer(false)
	assert.True(t, serverFactsOf(cfg).CustomCommandsOff, "off")
}
