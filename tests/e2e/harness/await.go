package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// ErrClosed is Await's error when the channel closed before a match arrived.
var ErrClosed = errors.New("closed")

// Await returns the first value received on ch that match accepts (any value when match is
// nil), skipping the others. It fails with ErrClosed when ch closes first, and with a timeout
// error after timeout. Every wait of the suite (events, log lines, replies) goes through it.
func Await[T any](ch <-chan T, timeout time.Duration, match func(T) bool) (T, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return v, ErrClosed
			}
			if match == nil || match(v) {
				return v, nil
			}
		case <-timer.C:
			var zero T
			return zero, fmt.Errorf("nothing within %s", timeout)
		}
	}
}

// PluginManifest is plugin.json at the top of the repository: the single source of the
// plugin's id and version.
func PluginManifest() *model.Manifest {
	path := filepath.Join(E2EDir(), "..", "..", "plugin.json")
	data, err := os.ReadFile(path)
	if err != nil {
		panic(fmt.Sprintf("harness: reading %s: %v", path, err))
	}
	var m model.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		panic(fmt.Sprintf("harness: parsing %s: %v", path, err))
	}
	return &m
}
