package e2e_test

// Hostile users, second round (issue 18, items 4 to 8), on the real server: what slash
// commands, ephemeral messages and a flood of heavy requests let an attacker do, each through
// Mattermost's own REST API with an ordinary user's or a bot's token. Before the fixes each of
// these took something over, let something through or stalled somebody else; now each holds.

import (
	"net/http"
	"strings"
	"testing"
)

// 4: a bot cannot register a built-in command's trigger, whatever the built-in's
// autocomplete: /invite_people is left out of ListBuiltInCommands while email invitations are
// off (as here), /test always is, and a plugin's command would run before either.
func TestHostileBuiltInTriggersCannotBeTaken(t *testing.T) {
	requirePlugin(t)
	bot := newDeliveryBot(t, "builtin")
	for _, trigger := range []string{"invite_people", "test", "echo"} {
		status, body := registerCommand(t, bot, trigger)
		if status != http.StatusConflict || errorCode(body) != "command_taken" || !strings.Contains(mustJSON(body), "Mattermost itself") {
			t.Errorf("registering /%s: HTTP %d %s, want 409 command_taken naming Mattermost", trigger, status, mustJSON(body))
		}
	}
	if status, out, _ := call(http.MethodGet, commandsPath, bot.Token, nil); status != http.StatusOK || strings.Contains(string(out), "invite_people") {
		t.Errorf("the bot's commands: HTTP %d %s, want none", status, out)
	}
}
