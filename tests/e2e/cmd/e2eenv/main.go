// Command e2eenv brings up the real-server e2e environment for a person
// (`make demo`): PostgreSQL + Mattermost on loopback, bootstrapped with an
// admin, a team, a channel, two users and two bots, optionally a plugin
// bundle uploaded and enabled; it prints the credentials and waits for
// Ctrl-C, then stops everything.
//
//	go run ./cmd/e2eenv [-bundle dist/<id>-1.0.0.tar.gz] [-json creds.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"e2e/harness"
)

type account struct {
	Username string `json:"username"`
	UserID   string `json:"user_id"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token"`
}

type creds struct {
	SiteURL   string    `json:"site_url"`
	TeamID    string    `json:"team_id"`
	ChannelID string    `json:"channel_id"`
	Admin     account   `json:"admin"`
	Users     []account `json:"users"`
	Bots      []account `json:"bots"`
	PluginID  string    `json:"plugin_id,omitempty"`
}

func acc(a *harness.Account) account {
	return account{Username: a.User.Username, UserID: a.User.Id, Password: a.Password, Token: a.Token}
}

func main() {
	bundle := flag.String("bundle", os.Getenv("E2E_BUNDLE"), "plugin bundle (.tar.gz) to upload and enable")
	jsonOut := flag.String("json", "", "also write the credentials as JSON to this file")
	flag.Parse()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-sigs; cancel() }()

	env, err := harness.StartEnvironment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2eenv:", err)
		harness.Down()
		os.Exit(1)
	}
	code := run(ctx, env, *bundle, *jsonOut)
	env.Stop()
	os.Exit(code)
}

func run(ctx context.Context, env *harness.Env, bundle, jsonOut string) int {
	c := creds{SiteURL: env.SiteURL, TeamID: env.Team.Id, ChannelID: env.Channel.Id, Admin: acc(env.Admin)}
	for _, u := range env.Users {
		c.Users = append(c.Users, acc(u))
	}
	for _, b := range env.Bots {
		c.Bots = append(c.Bots, acc(b))
	}
	if bundle != "" {
		m, err := env.UploadPlugin(ctx, bundle)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2eenv:", err)
			return 1
		}
		c.PluginID = m.Id
	}
	out, _ := json.MarshalIndent(c, "", "  ")
	fmt.Println(string(out))
	if jsonOut != "" {
		if err := os.WriteFile(jsonOut, append(out, '\n'), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "e2eenv:", err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "\nMattermost %s is up (admin %s / %s). Server log: %s\nPress Ctrl-C to stop everything.\n",
		env.SiteURL, harness.AdminUsername, harness.AdminPassword, env.ServerLogPath())
	<-ctx.Done()
	return 0
}
