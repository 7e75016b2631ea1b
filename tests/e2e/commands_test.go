package e2e_test

// Slash commands for websocket-only bots (SPEC §12) on the real server: a bot registers a
// command with its token, people run it through Mattermost's own execute API, the bot's answer
// (over its Go websocket client) is the command's response, in the channel and ephemerally;
// an offline bot, trigger conflicts, and commands surviving a plugin restart.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"e2e/harness"
)

var (
	commandsPath = "/plugins/" + pluginID + "/api/v1/commands"
	commandEvent = "custom_" + pluginID + "_command"
)

// registerCommand registers trigger for acc and returns the HTTP status and the answer.
func registerCommand(t testing.TB, acc *harness.Account, trigger string) (int, map[string]any) {
	t.Helper()
	status, out, err := call(http.MethodPost, commandsPath, acc.Token, map[string]any{
		"trigger": trigger, "description": "Deploy a release", "hint": "[environment]", "display_name": "Deploy"})
	if err != nil {
		t.Fatal(err)
	}
	return status, jsonObject(out)
}

// commandBot is a new bot, subscribed on its websocket, that registered a trigger nobody else
// in the suite uses (starting with word).
func commandBot(t testing.TB, name, word string) (*harness.Account, *socket, string) {
	t.Helper()
	bot := newDeliveryBot(t, name)
	ws := openSocket(t, bot)
	ws.subscribe(t)
	trigger := uniqueTrigger(word)
	if status, body := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register /%s: HTTP %d %s", trigger, status, mustJSON(body))
	}
	return bot, ws, trigger
}

// uniqueTrigger is a trigger nobody else in the suite uses.
func uniqueTrigger(prefix string) string {
	return prefix + strings.ToLower(model.NewId()[:6])
}

// execute runs command in the e2e channel as acc, through the API the webapp uses.
func execute(t testing.TB, acc *harness.Account, command string) (int, map[string]any) {
	t.Helper()
	status, out, err := call(http.MethodPost, "/api/v4/commands/execute", acc.Token,
		map[string]any{"channel_id": env.Channel.Id, "team_id": env.Team.Id, "command": command})
	if err != nil {
		t.Fatal(err)
	}
	return status, jsonObject(out)
}

// executeAsync runs command while the test plays the bot.
func executeAsync(acc *harness.Account, command string) <-chan map[string]any {
	done := make(chan map[string]any, 1)
	go func() {
		status, out, err := call(http.MethodPost, "/api/v4/commands/execute", acc.Token,
			map[string]any{"channel_id": env.Channel.Id, "team_id": env.Team.Id, "command": command})
		res := jsonObject(out)
		if res == nil {
			res = map[string]any{}
		}
		res["_status"] = float64(status)
		if err != nil {
			res["_error"] = err.Error()
		}
		done <- res
	}()
	return done
}

// botPostWithText waits for a post by bot in the e2e channel whose message is text.
func botPostWithText(t testing.TB, bot *harness.Account, text string) *model.Post {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, _, err := env.Admin.Client.GetPostsForChannel(context.Background(), env.Channel.Id, 0, 30, "", false, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range list.Order {
			if p := list.Posts[id]; p.UserId == bot.ID() && p.Message == text {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no post by %s reading %q in the channel", bot.User.Username, text)
	return nil
}

func TestCommandAnsweredInChannelAndEphemerally(t *testing.T) {
	requirePlugin(t)
	bot, alice := newDeliveryBot(t, "cmd"), env.Users[0]
	botWS, aliceWS := openSocket(t, bot), openSocket(t, alice)
	botWS.subscribe(t)
	trigger := uniqueTrigger("deploy")
	if status, body := registerCommand(t, bot, "/"+strings.ToUpper(trigger)); status != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", status, mustJSON(body))
	}

	// In the channel, with a button: posted as the bot, and the button delivers to the bot.
	pending := executeAsync(alice, "/"+trigger+"  prod --now")
	ev := botWS.mustNext(t, commandEvent, 10*time.Second)
	data := ev.GetData()
	if data["trigger"] != trigger || data["text"] != "prod --now" || data["user_id"] != alice.ID() || data["user_name"] != alice.User.Username || data["channel_id"] != env.Channel.Id {
		t.Errorf("command event %s, want alice's /%s with its text", mustJSON(data), trigger)
	}
	if tid, _ := data["trigger_id"].(string); tid == "" {
		t.Errorf("command event without a trigger_id: %s", mustJSON(data))
	}
	d := deliveryOf(t, ev)
	botWS.ack(d.EventID, map[string]any{"response_type": "in_channel", "text": "Deploying prod for @" + alice.User.Username,
		"attachments": []any{map[string]any{"actions": []any{button("rollback", "Roll back", map[string]any{"user_id": bot.ID()})}}}})
	if res := <-pending; res["_status"] != float64(http.StatusOK) {
		t.Fatalf("execute answered %s", mustJSON(res))
	}
	if got := botWS.ackResult(t, d.EventID); got != "applied" {
		t.Errorf("ack_result %q, want applied", got)
	}
	post := botPostWithText(t, bot, "Deploying prod for @"+alice.User.Username)
	clicked := clickAsync(alice, post.Id, "rollback", "")
	if c := botWS.nextAction(t, 10*time.Second); c.Data["post_id"] != post.Id {
		t.Errorf("click on the answer's button: %s", mustJSON(c.Data))
	} else {
		botWS.ack(c.EventID, map[string]any{"ephemeral_text": "Rolled back."})
	}
	clickDone(t, clicked)
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Rolled back." {
		t.Errorf("alice read %q after clicking the answer's button, want the bot's answer", p.Message)
	}

	// Ephemeral: the execute API answers the bot's text, and alice alone sees it.
	pending = executeAsync(alice, "/"+trigger+" staging")
	d = deliveryOf(t, botWS.mustNext(t, commandEvent, 10*time.Second))
	botWS.ack(d.EventID, map[string]any{"text": "Only you see this: staging is busy."})
	res := <-pending
	if res["text"] != "Only you see this: staging is busy." || res["response_type"] != "ephemeral" {
		t.Errorf("execute answered %s, want the bot's ephemeral text", mustJSON(res))
	}
	if p := aliceWS.ephemeralPost(t, 10*time.Second); p.Message != "Only you see this: staging is busy." {
		t.Errorf("alice's ephemeral post %q", p.Message)
	}

	// §7: in a direct message between alice and bob, where the bot may not post, an
	// in_channel answer is shown to alice alone.
	bob := env.Users[1]
	status, out, err := call(http.MethodPost, "/api/v4/channels/direct", alice.Token, []string{alice.ID(), bob.ID()})
	if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
		t.Fatalf("direct channel: HTTP %d %s %v", status, out, err)
	}
	dm := jsonObject(out)["id"].(string)
	inDM := make(chan map[string]any, 1)
	go func() {
		_, out, _ := call(http.MethodPost, "/api/v4/commands/execute", alice.Token,
			map[string]any{"channel_id": dm, "team_id": env.Team.Id, "command": "/" + trigger + " dm"})
		inDM <- jsonObject(out)
	}()
	d = deliveryOf(t, botWS.mustNext(t, commandEvent, 10*time.Second))
	botWS.ack(d.EventID, map[string]any{"response_type": "in_channel", "text": "Posted where I may not post?"})
	if res := <-inDM; res["response_type"] != "ephemeral" || res["text"] != "Posted where I may not post?" {
		t.Errorf("in a DM the bot is not in, execute answered %s, want the answer shown to alice alone", mustJSON(res))
	}
	list, _, err := env.Admin.Client.GetPostsForChannel(context.Background(), dm, 0, 20, "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Posts {
		if p.UserId == bot.ID() {
			t.Errorf("the bot posted in alice and bob's direct message: %q", p.Message)
		}
	}
	aliceWS.ephemeralPost(t, 10*time.Second)

	// GET lists it; DELETE removes it, and Mattermost no longer runs it.
	status, out, err = call(http.MethodGet, commandsPath, bot.Token, nil)
	if err != nil || status != http.StatusOK || !strings.Contains(string(out), `"trigger":"`+trigger+`"`) {
		t.Errorf("GET commands: HTTP %d %s %v", status, out, err)
	}
	other := newDeliveryBot(t, "cmdthief")
	if status, out, _ := call(http.MethodDelete, commandsPath+"/"+trigger, other.Token, nil); status != http.StatusNotFound {
		t.Errorf("another bot deleting it: HTTP %d %s, want 404", status, out)
	}
	if status, out, _ := call(http.MethodDelete, commandsPath+"/"+trigger, bot.Token, nil); status != http.StatusOK {
		t.Fatalf("DELETE: HTTP %d %s", status, out)
	}
	status, body := execute(t, alice, "/"+trigger)
	if status != http.StatusNotFound || body["id"] != "api.command.execute_command.not_found.app_error" {
		t.Errorf("a deleted command: HTTP %d %s, want Mattermost's 404 for a command that does not exist", status, mustJSON(body))
	}
}

func TestCommandBotOffline(t *testing.T) {
	requirePlugin(t)
	bot, s, trigger := commandBot(t, "cmdoff", "status")
	alice := env.Users[0]
	s.ws.Close()
	waitLive(t, bot, 0)
	status, res := execute(t, alice, "/"+trigger+" api")
	if status != http.StatusOK || !strings.Contains(res["text"].(string), "offline") || !strings.Contains(res["text"].(string), "command") {
		t.Errorf("execute for an offline bot: HTTP %d %s, want the offline notice", status, mustJSON(res))
	}
	back := openSocket(t, bot)
	if sub := back.subscribe(t); sub["kept"] != float64(1) {
		t.Fatalf("subscribed = %s, want the command kept", mustJSON(sub))
	}
	d := deliveryOf(t, back.mustNext(t, commandEvent, 10*time.Second))
	if d.Attempt < 2 || d.Data["text"] != "api" {
		t.Errorf("replayed command attempt %d %s", d.Attempt, mustJSON(d.Data))
	}
	back.ack(d.EventID, map[string]any{"response_type": "in_channel", "text": "Status of api: green (answered when back)"})
	if got := back.ackResult(t, d.EventID); got != "applied_late" {
		t.Errorf("ack_result %q, want applied_late", got)
	}
	botPostWithText(t, bot, "Status of api: green (answered when back)")
}

func TestCommandTriggerConflicts(t *testing.T) {
	requirePlugin(t)
	bot, rival := newDeliveryBot(t, "cmdown"), newDeliveryBot(t, "cmdrival")
	trigger := uniqueTrigger("release")
	if status, body := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", status, mustJSON(body))
	}
	status, body := registerCommand(t, rival, trigger)
	if e, _ := body["error"].(map[string]any); status != http.StatusConflict || e["code"] != "command_taken" || !strings.Contains(mustJSON(body), "another bot") {
		t.Errorf("a second bot registering /%s: HTTP %d %s, want 409 command_taken", trigger, status, mustJSON(body))
	}
	status, body = registerCommand(t, bot, "echo")
	if status != http.StatusConflict || !strings.Contains(mustJSON(body), "Mattermost itself") {
		t.Errorf("registering /echo: HTTP %d %s, want 409 naming Mattermost", status, mustJSON(body))
	}
	status, body = registerCommand(t, env.Users[0], uniqueTrigger("mine"))
	if status != http.StatusForbidden {
		t.Errorf("a person registering a command: HTTP %d %s, want 403", status, mustJSON(body))
	}
	// A team's own slash command: the plugin's would be run first and take it over.
	custom := uniqueTrigger("teamcmd")
	if _, _, err := env.Admin.Client.CreateCommand(context.Background(), &model.Command{TeamId: env.Team.Id, Trigger: custom,
		Method: model.CommandMethodPost, URL: "https://hooks.example.com/" + custom}); err != nil {
		t.Fatalf("creating the team's command: %v", err)
	}
	status, body = registerCommand(t, rival, custom)
	if status != http.StatusConflict || !strings.Contains(mustJSON(body), "a team's own slash command") {
		t.Errorf("registering a team's own /%s: HTTP %d %s, want 409 naming the team's command", custom, status, mustJSON(body))
	}
	// The owner registering again is an update, not a conflict.
	if status, body := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Errorf("the owner registering again: HTTP %d %s", status, mustJSON(body))
	}
	// /echo still answers as Mattermost's own.
	if status, res := execute(t, env.Users[0], "/echo still mine"); status != http.StatusOK {
		t.Errorf("/echo: HTTP %d %s", status, mustJSON(res))
	}
}

func TestCommandsSurvivePluginRestart(t *testing.T) {
	requirePlugin(t)
	ctx := context.Background()
	bot, alice := newDeliveryBot(t, "cmdkeep"), env.Users[0]
	trigger := uniqueTrigger("keep")
	if status, body := registerCommand(t, bot, trigger); status != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", status, mustJSON(body))
	}
	if _, err := env.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if status, _ := execute(t, alice, "/"+trigger); status == http.StatusOK {
		t.Errorf("the command ran while the plugin was disabled")
	}
	if _, err := env.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatal(err)
	}
	if err := env.WaitPluginRunning(ctx, pluginID, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	s := openSocket(t, bot)
	s.subscribe(t)
	pending := executeAsync(alice, "/"+trigger+" after restart")
	d := deliveryOf(t, s.mustNext(t, commandEvent, 10*time.Second))
	s.ack(d.EventID, map[string]any{"text": "still here"})
	if res := <-pending; res["text"] != "still here" {
		t.Errorf("after the restart, execute answered %s", mustJSON(res))
	}
}

// With custom slash commands off on the server (System Console > Integrations > Enable Custom
// Slash Commands), Mattermost runs no team's own command, and the plugin, told so with the
// server's settings, does not ask for them: a bot's command still reaches the bot and its
// answer is shown. Mattermost runs a plugin's commands whatever that setting says.
func TestCommandWithCustomSlashCommandsOff(t *testing.T) {
	requirePlugin(t)
	_, botWS, trigger := commandBot(t, "cmdnocustom", "weather")
	alice := env.Users[0]
	ctx := context.Background()
	setCustomCommands := func(on bool) error {
		cfg, _, err := env.Admin.Client.GetConfig(ctx)
		if err != nil {
			return err
		}
		cfg.ServiceSettings.EnableCommands = model.NewPointer(on)
		_, _, err = env.Admin.Client.UpdateConfig(ctx, cfg)
		return err
	}
	if err := setCustomCommands(false); err != nil {
		t.Fatalf("turning custom slash commands off: %v", err)
	}
	t.Cleanup(func() { _ = setCustomCommands(true) })

	pending := executeAsync(alice, "/"+trigger+" Lisbon")
	d := deliveryOf(t, botWS.mustNext(t, commandEvent, 10*time.Second))
	if d.Data["text"] != "Lisbon" {
		t.Errorf("the bot got %s, want the text after the trigger", mustJSON(d.Data))
	}
	botWS.ackQuiet(d.EventID, map[string]any{"text": "Sunny in Lisbon"})
	if res := <-pending; res["text"] != "Sunny in Lisbon" {
		t.Errorf("with custom slash commands off, execute answered %s, want the bot's answer", mustJSON(res))
	}
}
