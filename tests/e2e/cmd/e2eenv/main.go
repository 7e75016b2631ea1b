// Command e2eenv brings up the real-server e2e environment for a person
// (`make demo`): PostgreSQL + Mattermost on loopback, bootstrapped with an
// admin, a team, a channel, two users and two bots. With a plugin bundle it
// uploads and enables it, then shows the product working: actionbot posts a
// message with two buttons and a menu, alice clicks a button, and the event
// actionbot receives on its websocket is printed. It then prints the URL, the
// logins, actionbot's token and a curl command that clicks again, and keeps
// printing every event actionbot receives until Ctrl-C, which stops
// everything.
//
//	go run ./cmd/e2eenv [-bundle dist/<id>-1.0.0.tar.gz] [-json creds.json]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

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
	DemoPost  string    `json:"demo_post_id,omitempty"`
}

func acc(a *harness.Account) account {
	return account{Username: a.User.Username, UserID: a.User.Id, Password: a.Password, Token: a.Token}
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...)
}

func main() {
	bundle := flag.String("bundle", os.Getenv("E2E_BUNDLE"), "plugin bundle (.tar.gz) to upload and enable")
	jsonOut := flag.String("json", "", "also write the credentials as JSON to this file")
	flag.Parse()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\n==> %v: stopping Mattermost and PostgreSQL\n", s)
		cancel()
	}()

	step("starting PostgreSQL and Mattermost, bootstrapping users and bots")
	env, err := harness.StartEnvironment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2eenv:", err)
		harness.Down()
		os.Exit(1)
	}
	code := run(ctx, env, *bundle, *jsonOut)
	env.Stop()
	if code == 0 {
		step("stopped; nothing left running")
	}
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
	var d *demo
	if bundle != "" {
		step("uploading and enabling %s", bundle)
		m, err := env.UploadPlugin(ctx, bundle)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2eenv:", err)
			return 1
		}
		c.PluginID = m.Id
		d, err = startDemo(ctx, env, m.Id)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(os.Stderr, "e2eenv: demo:", err)
			fmt.Fprintf(os.Stderr, "server log tail:\n%s\n", env.ServerLogTail(20))
			return 1
		}
		defer d.ws.Close()
		c.DemoPost = d.post.Id
	}
	out, _ := json.MarshalIndent(c, "", "  ")
	if jsonOut != "" {
		if err := os.WriteFile(jsonOut, append(out, '\n'), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "e2eenv:", err)
			return 1
		}
	}

	alice, bot := env.Users[0], env.Bots[0]
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== Mattermost is running ===\n")
	fmt.Fprintf(&b, "URL:        %s   (API only: this build has no webapp)\n", env.SiteURL)
	fmt.Fprintf(&b, "admin:      %s / %s\n", harness.AdminUsername, harness.AdminPassword)
	fmt.Fprintf(&b, "alice:      %s / %s   (session token %s)\n", alice.User.Username, alice.Password, alice.Token)
	fmt.Fprintf(&b, "actionbot:  user id %s, token %s\n", bot.ID(), bot.Token)
	fmt.Fprintf(&b, "team %s, channel %s (%s)\n", harness.TeamName, harness.ChannelName, env.Channel.Id)
	if jsonOut != "" {
		fmt.Fprintf(&b, "all credentials: %s\n", jsonOut)
	}
	fmt.Fprintf(&b, "server log: %s\n", env.ServerLogPath())
	if d != nil {
		fmt.Fprintf(&b, "\nClick again as alice (actionbot's websocket event is printed below):\n")
		fmt.Fprintf(&b, "  curl -sS -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{}' %s/api/v4/posts/%s/actions/approve\n",
			alice.Token, env.SiteURL, d.post.Id)
		fmt.Fprintf(&b, "Pick from the menu:\n")
		fmt.Fprintf(&b, "  curl -sS -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"selected_option\":\"staging\"}' %s/api/v4/posts/%s/actions/environment\n",
			alice.Token, env.SiteURL, d.post.Id)
	} else {
		fmt.Fprintf(&b, "\nCredentials:\n%s\n", out)
	}
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop everything.\n")
	fmt.Print(b.String())

	if d != nil {
		go d.printEvents(ctx)
	}
	<-ctx.Done()
	return 0
}

// demo is actionbot's websocket and its message with buttons.
type demo struct {
	env      *harness.Env
	ws       *model.WebSocketClient
	post     *model.Post
	event    string
	received int
}

func startDemo(ctx context.Context, env *harness.Env, pluginID string) (*demo, error) {
	bot, alice := env.Bots[0], env.Users[0]
	d := &demo{env: env, event: "custom_" + pluginID + "_action"}

	step("connecting actionbot's websocket (Go model.WebSocketClient, bot token)")
	ws, err := env.WebSocket(bot)
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	d.ws = ws
	ws.Listen()
	go func() {
		for range ws.ResponseChannel { //nolint:revive // drained so the client never blocks
		}
	}()
	if _, err := d.next(ctx, string(model.WebsocketEventHello), 15*time.Second); err != nil {
		ws.Close()
		return nil, err
	}

	step("actionbot posts a message with two buttons and a menu in ~%s", harness.ChannelName)
	handler := "/plugins/" + pluginID + "/api/v1/handler"
	action := func(id, name, typ string, extra map[string]any, options ...string) *model.PostAction {
		context := map[string]any{"user_id": bot.ID(), "request": "deploy-42", "service": "api", "version": "2.3.0"}
		for k, v := range extra {
			context[k] = v
		}
		a := &model.PostAction{Id: id, Name: name, Type: typ,
			Integration: &model.PostActionIntegration{URL: handler, Context: context}}
		for _, o := range options {
			a.Options = append(a.Options, &model.PostActionOptions{Text: o, Value: o})
		}
		return a
	}
	post := &model.Post{ChannelId: env.Channel.Id, Message: "Deploy **api 2.3.0**?"}
	post.AddProp(model.PostPropsAttachments, []*model.SlackAttachment{{
		Text: "Approve or reject the deployment, or pick another environment.",
		Actions: []*model.PostAction{
			action("approve", "Approve", model.PostActionTypeButton, map[string]any{"decision": "approve"}),
			action("reject", "Reject", model.PostActionTypeButton, map[string]any{"decision": "reject"}),
			action("environment", "Environment", model.PostActionTypeSelect, nil, "staging", "production"),
		},
	}})
	d.post, _, err = bot.Client.CreatePost(ctx, post)
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("create post: %w", err)
	}

	step("alice clicks Approve (POST /api/v4/posts/%s/actions/approve)", d.post.Id)
	status, body, err := clickAs(env, alice.Token, d.post.Id, "approve")
	if err != nil || status != http.StatusOK {
		ws.Close()
		return nil, fmt.Errorf("click: HTTP %d %v %s", status, err, body)
	}
	step("waiting for actionbot's websocket event")
	ev, err := d.next(ctx, d.event, 15*time.Second)
	if err != nil {
		ws.Close()
		return nil, err
	}
	d.print(ev)
	return d, nil
}

func clickAs(env *harness.Env, token, postID, actionID string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, env.SiteURL+"/api/v4/posts/"+postID+"/actions/"+actionID, bytes.NewReader([]byte("{}")))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// next waits for an event of type typ.
func (d *demo) next(ctx context.Context, typ string, timeout time.Duration) (*model.WebSocketEvent, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-d.ws.EventChannel:
			if !ok {
				return nil, fmt.Errorf("actionbot's websocket closed: %v", d.ws.ListenError)
			}
			if string(ev.EventType()) == typ {
				return ev, nil
			}
		case <-timer.C:
			return nil, fmt.Errorf("no %s event on actionbot's websocket within %s", typ, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (d *demo) print(ev *model.WebSocketEvent) {
	d.received++
	data, _ := json.MarshalIndent(ev.GetData(), "", "  ")
	fmt.Printf("\n--- actionbot received event #%d %q at %s:\n%s\n",
		d.received, ev.EventType(), time.Now().Format("15:04:05.000"), data)
}

// printEvents prints every further action event actionbot receives.
func (d *demo) printEvents(ctx context.Context) {
	for {
		select {
		case ev, ok := <-d.ws.EventChannel:
			if !ok {
				if ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "actionbot's websocket closed: %v\n", d.ws.ListenError)
				}
				return
			}
			if string(ev.EventType()) == d.event {
				d.print(ev)
			}
		case <-ctx.Done():
			return
		}
	}
}
