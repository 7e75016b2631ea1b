package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// UploadPlugin installs a plugin bundle (.tar.gz) the way System Console
// does: POST /api/v4/plugins (multipart, force=true), then
// POST /api/v4/plugins/{id}/enable, then waits until
// GET /api/v4/plugins/statuses reports it running.
func (e *Env) UploadPlugin(ctx context.Context, bundlePath string) (*model.Manifest, error) {
	f, err := os.Open(bundlePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ac := e.Admin.Client
	manifest, resp, err := ac.UploadPluginForced(ctx, f)
	if err != nil {
		return nil, respErr("upload plugin "+bundlePath, resp, err)
	}
	if resp, err := ac.EnablePlugin(ctx, manifest.Id); err != nil {
		return nil, respErr("enable plugin "+manifest.Id, resp, err)
	}
	if err := e.WaitPluginRunning(ctx, manifest.Id, 60*time.Second); err != nil {
		return nil, err
	}
	e.Logf("plugin %s %s running", manifest.Id, manifest.Version)
	return manifest, nil
}

// PluginState returns the plugin's state as GET /api/v4/plugins/statuses
// reports it (model.PluginStateNotRunning when absent).
func (e *Env) PluginState(ctx context.Context, id string) (int, error) {
	statuses, resp, err := e.Admin.Client.GetPluginStatuses(ctx)
	if err != nil {
		return 0, respErr("plugin statuses", resp, err)
	}
	for _, s := range statuses {
		if s.PluginId == id {
			return s.State, nil
		}
	}
	return model.PluginStateNotRunning, nil
}

// WaitPluginRunning polls the plugin statuses until id is running; on a
// failed state or a timeout the error carries the server log tail.
func (e *Env) WaitPluginRunning(ctx context.Context, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		state, err := e.PluginState(ctx, id)
		if err != nil {
			return err
		}
		switch state {
		case model.PluginStateRunning:
			return nil
		case model.PluginStateFailedToStart, model.PluginStateFailedToStayRunning:
			return fmt.Errorf("plugin %s failed (state %d); server log tail:\n%s", id, state, e.ServerLogTail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("plugin %s not running after %s (state %d); server log tail:\n%s",
				id, timeout, state, e.ServerLogTail(30))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RemovePlugin disables and removes a plugin (DELETE /api/v4/plugins/{id}).
func (e *Env) RemovePlugin(ctx context.Context, id string) error {
	resp, err := e.Admin.Client.RemovePlugin(ctx, id)
	if err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
		return respErr("remove plugin "+id, resp, err)
	}
	return nil
}
