// Package harness runs the real-server end-to-end environment: a private
// PostgreSQL and a real Mattermost server on loopback (through the shell
// scripts in tests/e2e/scripts, which also work standalone), bootstraps
// users, a team, a channel and bots through the REST API, and uploads a
// plugin bundle the way System Console does.
package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Account is a bootstrapped user or bot with an authenticated client.
type Account struct {
	User     *model.User
	Password string // empty for bots
	// Token authenticates Client and websockets: a session token for users,
	// a personal access token for bots.
	Token  string
	Client *model.Client4
}

// ID is the account's user id.
func (a *Account) ID() string { return a.User.Id }

// Env is a running environment.
type Env struct {
	SiteURL    string
	RunDir     string
	ScriptsDir string

	Admin   *Account
	Team    *model.Team
	Channel *model.Channel
	Users   []*Account // two regular users, members of Team and Channel
	Bots    []*Account // two bots, members of Team and Channel, with access tokens

	Logf func(format string, args ...any)

	stopOnce sync.Once
	stopErr  error
}

// E2EDir is the tests/e2e directory (found from this source file, or
// $E2E_DIR).
func E2EDir() string {
	if d := os.Getenv("E2E_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("harness: cannot locate tests/e2e")
	}
	return filepath.Dir(filepath.Dir(file))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Start starts PostgreSQL and Mattermost (scripts/up.sh, fresh state) with a
// reaper that tears everything down if this process dies without calling
// Stop. It does not bootstrap; see StartEnvironment.
func Start(ctx context.Context) (*Env, error) {
	dir := E2EDir()
	e := &Env{
		SiteURL:    "http://127.0.0.1:" + envOr("E2E_MM_PORT", "58065"),
		RunDir:     envOr("E2E_RUN_DIR", "/tmp/mmpx-e2e"),
		ScriptsDir: filepath.Join(dir, "scripts"),
		Logf:       func(f string, a ...any) { fmt.Fprintf(os.Stderr, "[e2e] "+f+"\n", a...) },
	}
	t0 := time.Now()
	out, err := e.script(ctx, "up.sh", "--watch", fmt.Sprint(os.Getpid()))
	if err != nil {
		e.Stop()
		return nil, fmt.Errorf("scripts/up.sh: %w", err)
	}
	if s := strings.TrimSpace(lastLine(out)); strings.HasPrefix(s, "http://") {
		e.SiteURL = s
	}
	e.Logf("environment up in %s at %s", time.Since(t0).Round(100*time.Millisecond), e.SiteURL)
	return e, nil
}

// StartEnvironment starts the environment and bootstraps it. On error
// everything that was started is stopped again.
func StartEnvironment(ctx context.Context) (*Env, error) {
	e, err := Start(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.Bootstrap(ctx); err != nil {
		if ctx.Err() == nil {
			e.Logf("bootstrap failed; server log tail:\n%s", e.ServerLogTail(40))
		}
		e.Stop()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return e, nil
}

// Stop stops Mattermost (with its plugin processes) and PostgreSQL; safe to
// call more than once and from several goroutines.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, e.stopErr = e.script(ctx, "down.sh")
	})
	return e.stopErr
}

// RestartMattermost stops the server (every websocket drops, the plugin process ends) and
// starts it again on the same database and address.
func (e *Env) RestartMattermost(ctx context.Context) error {
	if _, err := e.script(ctx, "mm.sh", "stop"); err != nil {
		return fmt.Errorf("scripts/mm.sh stop: %w", err)
	}
	if _, err := e.script(ctx, "mm.sh", "start"); err != nil {
		return fmt.Errorf("scripts/mm.sh start: %w", err)
	}
	return nil
}

// scriptMu serializes the scripts: a teardown never races a start-up.
var scriptMu sync.Mutex

// script runs scripts/<name>; its stderr (progress) goes to ours, its stdout
// is returned.
func (e *Env) script(ctx context.Context, name string, args ...string) (string, error) {
	return runScript(ctx, e.RunDir, filepath.Join(e.ScriptsDir, name), args...)
}

// runScript runs a script in its own process group. Cancelling ctx sends
// SIGTERM to the whole group (the scripts trap it and stop what they
// started) and waits for it; if this process dies, the script gets SIGTERM.
func runScript(ctx context.Context, runDir, path string, args ...string) (string, error) {
	scriptMu.Lock()
	defer scriptMu.Unlock()
	cmd := exec.CommandContext(ctx, "bash", append([]string{path}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if runDir != "" {
		cmd.Env = append(os.Environ(), "E2E_RUN_DIR="+runDir)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 90 * time.Second // then SIGKILL
	err := cmd.Run()
	return stdout.String(), err
}

// ServerLogPath is the Mattermost server's console log.
func (e *Env) ServerLogPath() string { return filepath.Join(e.RunDir, "mm", "server.log") }

// ServerLogTail returns the last n lines of the server log.
func (e *Env) ServerLogTail(n int) string {
	b, err := os.ReadFile(e.ServerLogPath())
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WebSocketURL is the base URL for model.NewWebSocketClient4.
func (e *Env) WebSocketURL() string {
	return "ws" + strings.TrimPrefix(e.SiteURL, "http")
}

// WebSocket connects a websocket for the account (call Listen on it).
func (e *Env) WebSocket(a *Account) (*model.WebSocketClient, error) {
	return model.NewWebSocketClient4(e.WebSocketURL(), a.Token)
}

// NewClient returns a client authenticated with token.
func (e *Env) NewClient(token string) *model.Client4 {
	c := model.NewAPIv4Client(e.SiteURL)
	c.SetToken(token)
	return c
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
