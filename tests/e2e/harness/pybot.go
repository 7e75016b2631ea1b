package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PyListener is a running pybot/listen.py: a Python bot client
// (mattermostdriver) connected to the server's websocket. Every message it
// receives arrives on Events, decoded from its JSON line.
type PyListener struct {
	Events <-chan map[string]any
	cmd    *exec.Cmd
	done   chan struct{}
	once   sync.Once
}

// PythonPath creates the venv once (scripts/pyenv.sh) and returns its python.
func (e *Env) PythonPath(ctx context.Context) (string, error) {
	out, err := e.script(ctx, "pyenv.sh")
	if err != nil {
		return "", fmt.Errorf("scripts/pyenv.sh: %w", err)
	}
	return strings.TrimSpace(lastLine(out)), nil
}

// StartPyListener runs listen.py with token and waits until its websocket is
// authenticated (the hello event). prefix, when not empty, keeps only events
// whose name starts with it (e.g. "custom_").
func (e *Env) StartPyListener(ctx context.Context, token, prefix string) (*PyListener, error) {
	py, err := e.PythonPath(ctx)
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(E2EDir(), "pybot", "listen.py"), "--url", e.SiteURL, "--token", token}
	if prefix != "" {
		args = append(args, "--prefix", prefix)
	}
	cmd := exec.Command(py, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	events := make(chan map[string]any, 1024)
	l := &PyListener{Events: events, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"raw": sc.Text()}
			}
			events <- m
		}
	}()
	go func() { _ = cmd.Wait(); close(l.done) }()

	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-events:
			if !ok {
				return nil, fmt.Errorf("listen.py exited before its websocket was authenticated")
			}
			if m["event"] == "hello" {
				return l, nil
			}
		case <-timer.C:
			l.Stop()
			return nil, fmt.Errorf("listen.py: no hello event within 30s")
		case <-ctx.Done():
			l.Stop()
			return nil, ctx.Err()
		}
	}
}

// Next returns the next event whose name is event (any event when empty),
// skipping others, or an error after timeout.
func (l *PyListener) Next(event string, timeout time.Duration) (map[string]any, error) {
	m, err := Await(l.Events, timeout, func(m map[string]any) bool { return event == "" || m["event"] == event })
	switch {
	case errors.Is(err, ErrClosed):
		return nil, fmt.Errorf("listen.py exited")
	case err != nil:
		return nil, fmt.Errorf("no %q event: %w", event, err)
	}
	return m, nil
}

// Stop ends the listener process.
func (l *PyListener) Stop() {
	l.once.Do(func() {
		_ = l.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.done:
		case <-time.After(5 * time.Second):
			_ = l.cmd.Process.Kill()
			<-l.done
		}
	})
}
