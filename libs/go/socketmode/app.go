package socketmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// PluginID is the id of the plugin this library talks to.
const PluginID = "mattermost-plugin-interactive-message-actions-to-websocket-proxy"

// eventPrefix starts the name of every event the plugin sends, and of every action it takes.
const eventPrefix = "custom_" + PluginID + "_"

// Options configure an App; the zero value is a good start.
type Options struct {
	// Expand is what every event should carry in Proxy.Expanded (the acting user, the
	// channel, the post…), instead of REST calls after each event.
	Expand Expand
	// Logger receives the library's log lines (default slog.Default()).
	Logger *slog.Logger
	// Concurrency is how many handlers may run at once (default 64). Events beyond wait
	// their turn.
	Concurrency int
	// Remember is how many recent event ids the app remembers to run each event's handler
	// once, and to acknowledge a repeat with the first answer (default 2048).
	Remember int
	// ShutdownTimeout bounds how long Run waits, once its context is done, for running
	// handlers and their acknowledgements (default 30 s). What is not acknowledged by then
	// is kept by the plugin and sent again later.
	ShutdownTimeout time.Duration
	// NoQuickAck turns off the remedy for Mattermost's Nagle stall (see quickack.go): leave
	// it on unless you measure otherwise.
	NoQuickAck bool
}

// Expand asks the plugin for entities in every event (SPEC §13). Levels: "" (none),
// Summary or All.
type Expand struct {
	ActingUser string
	Channel    string
	Team       string
	Post       string
	RootPost   string
	// Locale adds the acting user's language.
	Locale bool
}

// Expansion levels.
const (
	Summary = "summary"
	All     = "all"
)

// request is the subscription's "expand", or nil when it asks for nothing.
func (x Expand) request() map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"acting_user": x.ActingUser, "channel": x.Channel, "team": x.Team, "post": x.Post, "root_post": x.RootPost} {
		if v != "" {
			m[k] = v
		}
	}
	if x.Locale {
		m["locale"] = true
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// Ready is what OnReady is told once the bot is first subscribed.
type Ready struct {
	// BotUserID is the bot's own user id.
	BotUserID string
	// Subscribed is the plugin's reply to the first subscription.
	Subscribed Subscribed
	// Commands holds each slash command's registration: nil when it was registered, else
	// the error (an *APIError: command_taken, not_a_bot…).
	Commands map[string]error
}

// App is a bot on Socket Mode for Mattermost: register handlers, then Run.
type App struct {
	// Client is the bot's REST client (its token set): use it for anything else the bot
	// does with Mattermost.
	Client *model.Client4

	siteURL  string
	opts     Options
	log      *slog.Logger
	handlers handlers
	memory   *memory
	backoff  backoff
	// unanswered is how long to wait for the plugin's answer to a subscription before
	// asking again.
	unanswered backoff
	sem        chan struct{}
	started    atomic.Bool

	botMu sync.Mutex // held while the bot's user id is asked for
	bot   string     // the bot's user id, once known

	mu    sync.Mutex
	live  *conn // the connection events come on, while it is open
	ready bool  // the first subscription was taken and the commands registered
	// stopping: Run's context is done; no more work is started, frames still read are
	// dropped (their events are left to the plugin). Set under mu (see admit).
	stopping atomic.Bool

	// running counts handlers (and their acknowledgements) still at work. Work from the
	// reader is counted under mu, and only while not stopping (admit): the reader runs on a
	// goroutine of its own, and a handler it started after the shutdown's Wait would run
	// after Run returned.
	running sync.WaitGroup
	// work is the context handlers get: not cancelled when Run's is, only when the
	// shutdown timeout has passed.
	work       context.Context
	cancelWork context.CancelFunc
}

// New makes an App for the Mattermost at siteURL ("https://chat.example.com") with a bot's
// access token. Nothing connects until Run.
func New(siteURL, token string, opts Options) *App {
	siteURL = strings.TrimRight(siteURL, "/")
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.Remember <= 0 {
		opts.Remember = 2048
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	client := model.NewAPIv4Client(siteURL)
	client.SetToken(token)
	return &App{
		Client:     client,
		siteURL:    siteURL,
		opts:       opts,
		log:        opts.Logger.With("lib", "socketmode"),
		handlers:   newHandlers(),
		memory:     newMemory(opts.Remember),
		backoff:    defaultBackoff,
		unanswered: backoff{min: 2 * time.Second, max: time.Minute, random: defaultBackoff.random},
		sem:        make(chan struct{}, opts.Concurrency),
	}
}

// BotUserID is the bot's user id (GET /api/v4/users/me, asked once).
func (a *App) BotUserID(ctx context.Context) (string, error) {
	a.botMu.Lock()
	defer a.botMu.Unlock()
	if a.bot != "" {
		return a.bot, nil
	}
	me, _, err := a.Client.GetMe(ctx, "")
	if err != nil {
		return "", err
	}
	a.bot = me.Id
	return a.bot, nil
}

func (a *App) botID() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.BotUserID(ctx)
}

// ErrUnauthorized is returned by Run when Mattermost refuses the token.
var ErrUnauthorized = errors.New("socketmode: Mattermost refused the bot's token")

// Run connects, subscribes and handles events until ctx is done, reconnecting with
// backoff whenever the connection drops. It then shuts down cleanly: it unsubscribes,
// takes no new event, waits for the running handlers and their acknowledgements (at most
// Options.ShutdownTimeout) and closes the connection; events not acknowledged are kept by
// the plugin and sent again later. It returns nil after a clean shutdown, ErrUnauthorized
// when the token is refused, or an error if called twice.
func (a *App) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("socketmode: Run called twice")
	}
	if !strings.HasPrefix(a.siteURL, "http://") && !strings.HasPrefix(a.siteURL, "https://") {
		return fmt.Errorf("socketmode: the site URL %q must start with http:// or https://", a.siteURL)
	}
	a.work, a.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	defer a.cancelWork()
	if err := a.whoAmI(ctx); err != nil {
		return err
	}
	wsURL := "ws" + strings.TrimPrefix(a.siteURL, "http")
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			a.shutdown(nil)
			return nil
		}
		c, err := a.dial(wsURL)
		if err != nil {
			a.log.Warn("connecting the websocket failed", "error", err, "attempt", attempt+1)
		} else {
			greeted := a.serve(ctx, c)
			if ctx.Err() != nil {
				a.shutdown(c)
				return nil
			}
			a.log.Warn("the websocket closed: reconnecting", "error", c.err)
			if greeted {
				attempt = 0 // it worked for a while: start the backoff again
			}
		}
		select {
		case <-ctx.Done():
			a.shutdown(nil) // handlers still running acknowledge over REST
			return nil
		case <-time.After(a.backoff.delay(attempt)):
		}
	}
}

// whoAmI learns the bot's user id before anything else, retrying while Mattermost cannot
// be reached; a refused token ends Run.
func (a *App) whoAmI(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		_, err := a.BotUserID(ctx)
		if err == nil {
			return nil
		}
		var appErr *model.AppError
		if errors.As(err, &appErr) && (appErr.StatusCode == http.StatusUnauthorized || appErr.StatusCode == http.StatusForbidden) {
			return ErrUnauthorized
		}
		a.log.Warn("Mattermost cannot be reached", "error", err, "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.backoff.delay(attempt)):
		}
	}
}

// shutdown stops taking events on c (nil: no connection is up), waits for the running
// handlers and their acknowledgements, then closes c.
func (a *App) shutdown(c *conn) {
	if c != nil {
		c.send(eventPrefix+"unsubscribe", map[string]any{})
	}
	a.stop()
	done := make(chan struct{})
	go func() { a.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.opts.ShutdownTimeout):
		a.log.Warn("handlers still running at the shutdown timeout: their events will be sent again", "timeout", a.opts.ShutdownTimeout)
		a.cancelWork()
	}
	if c == nil {
		return
	}
	a.mu.Lock()
	if a.live == c {
		a.live = nil
	}
	a.mu.Unlock()
	c.close()
}

// admit counts one more piece of work from the reader as running, unless the shutdown
// began: then it reports false, and the event is left to the plugin, which sends it again.
func (a *App) admit() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.Load() {
		return false
	}
	a.running.Add(1)
	return true
}

// stop takes no more work: once it returned, admit admits nothing, so the shutdown's wait
// counts every handler that will ever run.
func (a *App) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopping.Store(true)
}

// leftToPlugin logs an event of name not handled because the app is shutting down (work only:
// the plugin sends it again later).
func (a *App) leftToPlugin(name string) {
	if carriesWork(name) {
		a.log.Info("shutting down: an event is left to the plugin, which sends it again later", "event", name)
	}
}
