package main

import (
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/assert"
)

// A team's own commands are answered only with the typed trigger's (in any case): a team with
// other commands answers with the empty list the core expects, so the slash command is not
// decided twice; the core still judges what the list holds.
func TestTeamCommandsAnswerOnlyTheTypedTrigger(t *testing.T) {
	api := &plugintest.API{}
	api.On("ListCustomCommands", "team1").Return([]*model.Command{
		{Trigger: "standup"}, {Trigger: "Deploy"}, {Trigger: "deploy-prod"},
	}, nil)
	p := &Plugin{}
	p.SetAPI(api)
	assert.JSONEq(t, `{"found":["Deploy"]}`, string(p.ask(query{Fact: "team_commands", TeamID: "team1", Trigger: "deploy"}).answer()))
	assert.Equal(t, `{"found":[]}`, string(p.ask(query{Fact: "team_commands", TeamID: "team1", Trigger: "weather"}).answer()),
		"byte for byte the answer the core expects")
}
