package e2e_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { os.Exit(harness.Main(m, &env)) }

// The environment is up and bootstrapped as promised.
func TestSmokeBootstrap(t *testing.T) {
	harness.RequireEnv(t, env)
	ctx := context.Background()
	if len(env.Users) != 2 || len(env.Bots) != 2 {
		t.Fatalf("want 2 users and 2 bots, got %d and %d", len(env.Users), len(env.Bots))
	}
	for _, b := range env.Bots {
		if !b.User.IsBot {
			t.Errorf("%s is not a bot", b.User.Username)
		}
		if _, _, err := b.Client.GetChannelMember(ctx, env.Channel.Id, b.ID(), ""); err != nil {
			t.Errorf("bot %s not in channel: %v", b.User.Username, err)
		}
	}
	// The config is writable through the API (no env override on plugin settings).
	cfg, _, err := env.Admin.Client.GetConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !*cfg.PluginSettings.Enable || !*cfg.PluginSettings.EnableUploads {
		t.Fatalf("plugins/uploads not enabled: %+v", cfg.PluginSettings)
	}
	cfg.ServiceSettings.EnableCustomEmoji = model.NewPointer(true)
	if _, _, err := env.Admin.Client.UpdateConfig(ctx, cfg); err != nil {
		t.Fatalf("PUT /api/v4/config: %v", err)
	}
}

// A bot's websocket (Go client, token auth) connects and receives events.
func TestSmokeBotWebSocket(t *testing.T) {
	harness.RequireEnv(t, env)
	bot := env.Bots[0]
	ws, err := env.WebSocket(bot)
	if err != nil {
		t.Fatalf("websocket connect: %v", err)
	}
	defer ws.Close()
	ws.Listen()

	// A post in the channel reaches the bot as a "posted" event.
	post, _, err := env.Users[0].Client.CreatePost(context.Background(), &model.Post{
		ChannelId: env.Channel.Id, Message: "hello bots",
	})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-ws.EventChannel:
			if !ok {
				t.Fatalf("websocket closed: %v", ws.ListenError)
			}
			if ev.EventType() == model.WebsocketEventPosted {
				t.Logf("bot %s got %s for post %s", bot.User.Username, ev.EventType(), post.Id)
				return
			}
		case <-timeout:
			t.Fatal("no posted event on the bot's websocket within 15s")
		}
	}
}

// The Python bot client (mattermostdriver) authenticates and receives events.
func TestSmokePythonBot(t *testing.T) {
	harness.RequireEnv(t, env)
	ctx := context.Background()
	l, err := env.StartPyListener(ctx, env.Bots[1].Token, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	if _, _, err := env.Users[1].Client.CreatePost(ctx, &model.Post{
		ChannelId: env.Channel.Id, Message: "hello python bot",
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := l.Next(string(model.WebsocketEventPosted), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("python bot got: %v", ev["event"])
}

// With E2E_BUNDLE=path/to/bundle.tar.gz, the plugin uploads, enables and runs.
func TestSmokeUploadPlugin(t *testing.T) {
	harness.RequireEnv(t, env)
	bundle := os.Getenv("E2E_BUNDLE")
	if bundle == "" {
		t.Skip("E2E_BUNDLE not set (path of the `make dist` bundle)")
	}
	m, err := env.UploadPlugin(context.Background(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plugin %s %s running", m.Id, m.Version)
	if m.Id == "com.example.e2e-hello" { // scripts/make-hello-bundle.sh
		req, _ := http.NewRequest(http.MethodGet, env.SiteURL+"/plugins/"+m.Id+"/hello", nil)
		req.Header.Set("Authorization", "Bearer "+env.Users[0].Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("plugin HTTP: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "hello" {
			t.Fatalf("plugin answered %q", body)
		}
	}
}
