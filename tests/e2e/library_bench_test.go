package e2e_test

// The answer of delivery_bench_test.go from bots on the Python and JavaScript libraries, each
// with its Nagle remedy and without (issue 20, item 3: the remedy is the libraries' to apply,
// and the stall it removes is measured on the real server for each of them, as for Go's).

import (
	"context"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// benchLibraryBots measures click -> answer applied for a Python and a JavaScript library bot,
// with and without the Nagle remedy, alternating with native (a post answered by the native
// integration). side clicks every value of a post's menu and returns the round trips; menu
// makes the menu "pick" for a bot, answered at a URL.
func benchLibraryBots(t *testing.T, add func(string, ...any), side func(*model.Post) []time.Duration,
	menu func(*harness.Account, string) map[string]any, native *model.Post, last string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	py, err := env.PythonLibPath(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jsDir := libjsDir(t, ctx)
	type libraryBot struct {
		name  string
		start func(*harness.Account)
	}
	bots := []libraryBot{
		{"Python library bot", func(b *harness.Account) {
			startPyLibBot(t, py, "benchbot.py", "python bench bot", b).next(t, "ready", 60*time.Second)
		}},
		{"Python library bot without its Nagle remedy", func(b *harness.Account) {
			startPyLibBot(t, py, "benchbot.py", "python bench bot, no remedy", b, "QUICK_ACK=0").next(t, "ready", 60*time.Second)
		}},
		{"JavaScript library bot", func(b *harness.Account) {
			libjsReady(t, startLibJSScript(t, jsDir, "benchbot.mjs", b, "bench"))
		}},
		{"JavaScript library bot without its Nagle remedy", func(b *harness.Account) {
			libjsReady(t, startLibJSScript(t, jsDir, "benchbot.mjs", b, "bench, no remedy", "NAGLE_REMEDY=0"))
		}},
	}
	names := make([]string, 0, len(bots)+1)
	sides := make([]func() []time.Duration, 0, len(bots)+1)
	for _, lb := range bots {
		bot := newDeliveryBot(t, "benchlib")
		lb.start(bot)
		waitLive(t, bot, 1)
		post := createPost(t, bot, "", lb.name, menu(bot, handlerPath))
		side(post) // warm
		waitPostMessage(t, env.Users[0], post.Id, "Deployed "+last+" for @alice")
		names = append(names, "plugin, "+lb.name+" acking on the websocket")
		sides = append(sides, func() []time.Duration { return side(post) })
	}
	names = append(names, "native HTTP integration")
	sides = append(sides, func() []time.Duration { return side(native) })
	benchSidesRun(add, "answer by library", "click -> answer applied", benchRounds, names, sides)
}

// libjsReady waits for the bot's "ready" line (subscribed).
func libjsReady(t *testing.T, b *libjsBot) {
	t.Helper()
	if _, ok := b.line(t, "ready ", 60*time.Second); !ok {
		t.Fatalf("the libjs bot %s did not subscribe; stderr:\n%s", b.replica, b.stderr.String())
	}
}
