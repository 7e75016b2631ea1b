// Command floorplugin is the benchmarks' floor (tests/e2e/floor_bench_test.go): the least a
// Mattermost plugin can do to have a bot on its websocket answer a click, a dialog's lookup or
// a slash command (floor.go). scripts/make-hello-bundle.sh floorplugin builds it.
//
// It is a plugin of its own, not a handler of helloplugin's, because it implements
// WebSocketMessageHasBeenPosted: Mattermost runs that hook of every plugin that has it, one
// after the other, for every websocket message (web_conn.go, pluginPostedConsumer), so while it
// is enabled every other plugin's websocket acknowledgements wait for it. The benchmarks
// enable it only for the rounds that measure it.
package main

import (
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

type floorPlugin struct {
	plugin.MattermostPlugin
	floor floor
}

func (p *floorPlugin) OnActivate() error {
	for _, trigger := range []string{floorTrigger, floorReadTrigger} {
		if err := p.API.RegisterCommand(&model.Command{Trigger: trigger, DisplayName: "floor", AutoComplete: false}); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	plugin.ClientMain(&floorPlugin{})
}
