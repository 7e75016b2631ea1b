package e2e_test

// TestExpandBench (SPEC §8, §13; `make e2e-bench`): what expansions save a bot that needs the
// clicker's name and the clicked post's text before it can answer.
//
//   - click → answer applied, side by side in alternating rounds (A B A B): the same bot logic,
//     once reading both from proxy.expanded (A), once making its own REST calls first
//     (GET /api/v4/users/{id} and GET /api/v4/posts/{id}, concurrently: the best a bot can do
//     without expansions) (B). Both acknowledge over REST (the README's advice for clicks).
//   - the cost of expansions on click → event: when the bot receives the click, with the
//     expansions gathered against without, also alternating.
//
// Prints an "E2E-BENCH" block, also written to $E2E_RUN_DIR/expand-bench.txt.

import (
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

// expandBenchAnswer is the answer both bots give: it needs the clicker's name and the post's text.
func expandBenchAnswer(firstName, username, postText, option string) map[string]any {
	return map[string]any{
		"update":         map[string]any{"message": postText + " — " + option + " chosen by " + firstName + " (@" + username + ")"},
		"ephemeral_text": "Thanks " + firstName + ", " + option + " it is.",
	}
}

// expandBenchBot answers every click of bot; with expand it reads the clicker and the post from
// the event, otherwise it asks Mattermost for them first. received gets when each click arrived.
func expandBenchBot(t *testing.T, bot *harness.Account, expand bool, received chan<- time.Time, lookups chan<- time.Duration) {
	t.Helper()
	s := openSocket(t, bot)
	if expand {
		s.subscribeExpanding(t, map[string]any{"acting_user": "summary", "post": "summary"})
	} else {
		s.subscribe(t)
	}
	go func() {
		for {
			ev, err := s.next(actionEvent, time.Hour)
			if err != nil {
				return
			}
			received <- time.Now()
			data := ev.GetData()
			proxy, _ := data["proxy"].(map[string]any)
			ctx, _ := data["context"].(map[string]any)
			option, _ := ctx["selected_option"].(string)
			var user, post map[string]any
			if expand {
				x, _ := proxy["expanded"].(map[string]any)
				user, _ = x["acting_user"].(map[string]any)
				post, _ = x["post"].(map[string]any)
			} else {
				var wg sync.WaitGroup
				wg.Add(2)
				get := func(path string, into *map[string]any) {
					defer wg.Done()
					status, out, err := call(http.MethodGet, path, bot.Token, nil)
					if err != nil || status != http.StatusOK {
						t.Errorf("GET %s: HTTP %d %v", path, status, err)
					}
					*into = jsonObject(out)
				}
				began := time.Now()
				go get("/api/v4/users/"+fmt.Sprint(data["user_id"]), &user)
				go get("/api/v4/posts/"+fmt.Sprint(data["post_id"]), &post)
				wg.Wait()
				select {
				case lookups <- time.Since(began):
				default:
				}
			}
			first, _ := user["first_name"].(string)
			name, _ := user["username"].(string)
			text, _ := post["message"].(string)
			answer := expandBenchAnswer(first, name, strings.SplitN(text, " — ", 2)[0], option)
			if status, out, err := call(http.MethodPost, ackPath, bot.Token, map[string]any{"event_id": proxy["event_id"], "answer": answer}); err != nil || status != http.StatusOK {
				t.Errorf("POST %s: HTTP %d %v %s", ackPath, status, err, out)
			}
		}
	}()
}

func TestExpandBench(t *testing.T) {
	requirePlugin(t)
	setPrivacy(t, true, true) // the bot may read the clicker's full name either way
	clicker := newPerson(t, "benchx")
	clickerWS := openSocket(t, clicker)
	report := &benchReport{t: t}
	add := report.add
	add("real Mattermost %s + %s %s, %d CPUs, PostgreSQL, Go bot websocket (model.WebSocketClient), acks over REST",
		mmVersion(), pluginID, pluginVersion, runtime.NumCPU())

	values := make([]string, benchClicksRound)
	options := make([]map[string]any, len(values))
	for i := range values {
		values[i] = strconv.Itoa(i)
		options[i] = map[string]any{"text": values[i], "value": values[i]}
	}
	type side struct {
		post     *model.Post
		received chan time.Time
	}
	lookups := make(chan time.Duration, 10*benchRounds*benchClicksRound)
	newSide := func(prefix string, expand bool) side {
		bot := newDeliveryBot(t, prefix)
		received := make(chan time.Time, 1)
		expandBenchBot(t, bot, expand, received, lookups)
		menu := map[string]any{"id": "pick", "name": "Pick", "type": "select", "options": options,
			"integration": map[string]any{"url": handlerPath, "context": map[string]any{"user_id": bot.ID()}}}
		return side{createPost(t, bot, "", "Release 2.0 is ready.", menu), received}
	}
	expanding, fetching := newSide("benchexpand", true), newSide("benchfetch", false)
	// One round of one side: click → answer applied, and click → event at the bot.
	run := func(s side) (answered, delivered []time.Duration) {
		for _, v := range values {
			c := mustClick(t, clicker, s.post.Id, "pick", v)
			answered = append(answered, c.Done.Sub(c.Sent))
			delivered = append(delivered, (<-s.received).Sub(c.Sent))
			if p := clickerWS.ephemeralPost(t, 10*time.Second); p.Message != "Thanks Carol, "+v+" it is." {
				t.Fatalf("ephemeral %q after clicking %s", p.Message, v)
			}
		}
		return answered, delivered
	}
	run(expanding) // warm both paths (caches, connections)
	run(fetching)
	var all [4][]time.Duration
	for round := range benchRounds {
		ea, ed := run(expanding)
		fa, fd := run(fetching)
		all[0], all[1], all[2], all[3] = append(all[0], ea...), append(all[1], ed...), append(all[2], fa...), append(all[3], fd...)
		add("round %d: click -> answer applied p50: expand %s, own REST calls %s (ratio %.2f); click -> event p50: expand %s, without %s",
			round+1, ms(median(ea)), ms(median(fa)), float64(median(ea))/float64(median(fa)), ms(median(ed)), ms(median(fd)))
	}
	ea50, ea95, _ := percentiles(all[0])
	ed50, ed95, _ := percentiles(all[1])
	fa50, fa95, _ := percentiles(all[2])
	fd50, fd95, _ := percentiles(all[3])
	add("click -> answer applied, %d clicks a side in %d alternating rounds: bot reading proxy.expanded p50 %s p95 %s; the same bot making its own REST calls (GET user and post, concurrently) p50 %s p95 %s; ratio p50 %.2f, saved p50 %s",
		len(all[0]), benchRounds, ms(ea50), ms(ea95), ms(fa50), ms(fa95), float64(ea50)/float64(fa50), ms(fa50-ea50))
	add("click -> event at the bot: with expansions (acting_user, post: summary) p50 %s p95 %s; without p50 %s p95 %s; cost p50 %s",
		ms(ed50), ms(ed95), ms(fd50), ms(fd95), ms(ed50-fd50))
	var looked []time.Duration
	for len(lookups) > 0 {
		looked = append(looked, <-lookups)
	}
	l50, l95, _ := percentiles(looked)
	add("the REST bot's own look-ups (GET user and GET post, concurrently, on loopback), %d clicks: p50 %s p95 %s; over a network each costs at least one round trip between the bot and the server more",
		len(looked), ms(l50), ms(l95))
	writeBenchReport(t, "expand-bench.txt", report.lines)
}
