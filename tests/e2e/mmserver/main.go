// Command mmserver is a thin wrapper around the real Mattermost server
// command (the same package main as the upstream cmd/mattermost), so that
// the end-to-end tests can build a genuine Mattermost server from its Go
// module. `go install module@version` refuses the server module because its
// go.mod carries replace directives; this wrapper module carries them instead.
package main

import (
	"os"

	"github.com/mattermost/mattermost/server/v8/cmd/mattermost/commands"
	// Register the app-layer slash commands, as upstream main.go does.
	_ "github.com/mattermost/mattermost/server/v8/channels/app/slashcommands"
	// OAuth providers, as upstream.
	_ "github.com/mattermost/mattermost/server/v8/channels/app/oauthproviders/gitlab"
	// Upstream also imports server/v8/enterprise, which is an empty placeholder
	// without the "enterprise" build tag (Team Edition) and whose tagged files
	// name private modules that `go mod tidy` cannot resolve: left out.
)

func main() {
	if err := commands.Run(os.Args[1:]); err != nil {
		os.Exit(1)
	}
}
