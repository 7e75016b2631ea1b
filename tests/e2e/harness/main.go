package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	currentMu sync.Mutex
	current   *Env
)

// Main is a TestMain body:
//
//	var env *harness.Env
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m, &env)) }
//
// It starts and bootstraps the environment into *env, runs the tests and
// always stops the environment: on return, on a panic in TestMain, and on
// SIGINT/SIGTERM/SIGHUP (then it exits 130). If the process dies any other
// way (SIGKILL, a -timeout panic), the reaper started by up.sh stops it.
// With -short, or E2E_SKIP=1, nothing starts and *env stays nil: tests should
// call RequireEnv to skip.
func Main(m *testing.M, env **Env) int {
	flag.Parse()
	if testing.Short() || os.Getenv("E2E_SKIP") == "1" {
		fmt.Fprintln(os.Stderr, "[e2e] real-server tests skipped (-short or E2E_SKIP=1)")
		return m.Run()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "[e2e] %v: stopping the environment\n", s)
		cancel()
		currentMu.Lock()
		e := current
		currentMu.Unlock()
		if e != nil {
			e.Stop()
		} else {
			Down()
		}
		os.Exit(130)
	}()

	e, err := StartEnvironment(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[e2e] FAIL: cannot start the environment: %v\n", err)
		Down()
		return 1
	}
	currentMu.Lock()
	current = e
	currentMu.Unlock()
	*env = e
	defer e.Stop()
	return m.Run()
}

// RequireEnv skips the test when the environment was not started (-short).
func RequireEnv(t testing.TB, env *Env) {
	t.Helper()
	if env == nil {
		t.Skip("real-server e2e environment not started (-short or E2E_SKIP=1)")
	}
}

// Down runs scripts/down.sh (stops whatever an earlier start left running).
func Down() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, _ = runScript(ctx, os.Getenv("E2E_RUN_DIR"), filepath.Join(E2EDir(), "scripts", "down.sh"), "--quiet")
}
