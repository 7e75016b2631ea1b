// Package socketmode is the Go library for Socket Mode for Mattermost, the plugin that gives a
// bot holding only a websocket everything an HTTP integration gets: clicks on its buttons and
// menus, its dialogs and their dynamic menus, its slash commands, answers shown to the person
// at once, and guaranteed delivery while it restarts.
//
// Register handlers by what happened, then Run:
//
//	app := socketmode.New(siteURL, botToken, socketmode.Options{})
//	app.Action("approve", func(ctx context.Context, e *socketmode.Action) (*socketmode.ActionAnswer, error) {
//		return &socketmode.ActionAnswer{EphemeralText: "Approved."}, nil
//	})
//	err := app.Run(ctx)
//
// A handler returns the answer (or calls e.Ack first). The library speaks Mattermost's
// websocket itself (gorilla/websocket), subscribes on every hello and whenever the plugin asks, reconnects
// with backoff, runs each event's handler once and acknowledges every delivery (over REST
// when no socket is up), applies the remedy for Mattermost's Nagle stall, and shuts down
// without losing anything. The helpers on App post buttons that reach the bot (Post), send
// verified ephemeral messages (SendEphemeral), open dialogs (OpenDialog) and lint messages
// (Lint). See README.md for the whole of it.
package socketmode
