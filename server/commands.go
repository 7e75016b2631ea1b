package main

import (
	"errors"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/segmentio/encoding/json"
)

// ExecuteCommand hands a slash command a bot registered through the plugin to the core, and
// answers what it decided: the bot's answer, or what the person is told instead.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	rep := p.hookReply(input{Command: &commandInput{Args: args}})
	if rep == nil || rep.Reply == nil || rep.Reply.Command == nil {
		return nil, model.NewAppError("ExecuteCommand", "plugin.core_failed", nil, "the plugin could not handle the command", 500)
	}
	// The core handed the command back: with no response and no error, Mattermost goes on to
	// run the team's own command or its built-in (App.ExecuteCommand), as without this plugin.
	if len(rep.Reply.Command.Response) == 0 {
		return nil, nil
	}
	// Decoded with float64 numbers: the response crosses a gob-encoded RPC (see gobSafe).
	var response model.CommandResponse
	if err := json.Unmarshal(rep.Reply.Command.Response, &response); err != nil {
		p.API.LogError("the core's command response is unreadable", "error", err.Error())
		return nil, model.NewAppError("ExecuteCommand", "plugin.core_failed", nil, err.Error(), 500)
	}
	return &response, nil
}

// mattermostCommands answers the mattermost_commands fact: the triggers Mattermost serves
// already, built in, registered by plugins (this one's included) and every team's own.
func (p *Plugin) mattermostCommands() result {
	builtIn, err := p.API.ListBuiltInCommands()
	if err != nil {
		return result{err: err}
	}
	plugins, err := p.API.ListPluginCommands("")
	if err != nil {
		return result{err: err}
	}
	teams, appErr := p.API.GetTeams()
	if appErr != nil {
		return result{appErr: appErr}
	}
	served := map[string][]string{"built_in": triggers(builtIn), "plugins": triggers(plugins), "custom": {}}
	for _, team := range teams {
		custom, err := p.API.ListCustomCommands(team.Id)
		if err != nil {
			return result{err: err}
		}
		served["custom"] = append(served["custom"], triggers(custom)...)
	}
	return result{value: served}
}

func triggers(commands []*model.Command) []string {
	out := make([]string, 0, len(commands))
	for _, c := range commands {
		out = append(out, c.Trigger)
	}
	return out
}

// teamCommands answers the team_commands fact: the triggers of a team's own slash commands
// that are trigger, ignoring case (the core decides what matches; this only leaves out the
// rest, so that the answer is almost always the empty list the core expects).
func (p *Plugin) teamCommands(teamID, trigger string) result {
	commands, err := p.API.ListCustomCommands(teamID)
	var appErr *model.AppError
	if errors.As(err, &appErr) {
		return result{appErr: appErr}
	}
	if err != nil {
		return result{err: err}
	}
	matching := []string{}
	for _, t := range triggers(commands) {
		if strings.EqualFold(t, trigger) {
			matching = append(matching, t)
		}
	}
	return result{value: matching}
}
