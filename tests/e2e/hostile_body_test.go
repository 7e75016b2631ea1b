package e2e_test

// A body past the plugin's limit (1 MiB), on the real server: refused with body_too_large and
// nothing delivered, whether it is sent whole or only declared and sent slowly.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const bodyLimit = 1 << 20

func TestHostileBodiesPastTheLimitAreRefusedUnread(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "bodylimit"), env.Users[0]
	post := createPost(t, bot, "", "Big bodies", button("go", "Go", map[string]any{"user_id": bot.ID()}))
	botWS := openSocket(t, bot)
	botWS.subscribe(t)
	click := func(pad int) string {
		return fmt.Sprintf(`{"post_id":%q,"channel_id":%q,"context":{"user_id":%q,"pad":"%s"}}`,
			post.Id, env.Channel.Id, bot.ID(), strings.Repeat("x", pad))
	}

	// Sent whole, one byte past the limit.
	whole := click(0)
	whole = click(bodyLimit + 1 - len(whole))
	if len(whole) != bodyLimit+1 {
		t.Fatalf("the body is %d bytes, want %d", len(whole), bodyLimit+1)
	}
	status, out, err := call(http.MethodPost, handlerPath, alice.Token, whole)
	if err != nil || status != http.StatusRequestEntityTooLarge || !strings.Contains(string(out), "body_too_large") {
		t.Fatalf("a body one byte past the limit: HTTP %d %.200s %v, want 413 body_too_large", status, out, err)
	}

	// Declared at 2 MiB; the client sends its first bytes and then nothing. The refusal comes
	// without the rest: the plugin reads none of it. Before, the plugin waited for the body as
	// long as Mattermost's read timeout let the client take (5 minutes by default); the
	// deadline here only keeps a hang from stalling the suite.
	site, err := url.Parse(env.SiteURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", site.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		handlerPath, site.Host, alice.Token, 2*bodyLimit)
	if _, err := io.WriteString(conn, head+click(0)[:40]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body declared at 2 MiB and not sent: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(got), "body_too_large") {
		t.Fatalf("a body declared at 2 MiB: HTTP %d %.200s, want 413 body_too_large", resp.StatusCode, got)
	}

	// Neither reached the bot, and the button still works.
	botWS.expectNone(t, actionEvent, 300*time.Millisecond)
	pending := clickAsync(alice, post.Id, "go", "")
	d := botWS.nextAction(t, 10*time.Second)
	botWS.ack(d.EventID, map[string]any{"ephemeral_text": "Still works."})
	clickDone(t, pending)
}
