package socketmode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is the plugin's refusal of a REST call: its status and its stable error code
// (command_taken, trigger_expired, bad_ephemeral, …; see the plugin's README). Code is
// "http_<status>" when the answer was not the plugin's (e.g. the plugin is disabled).
type APIError struct {
	Status  int
	Code    string
	Message string
	// Path is the plugin path called, e.g. "/api/v1/commands".
	Path string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("socketmode: %s: %s", e.Path, e.Code)
	}
	return fmt.Sprintf("socketmode: %s: %s: %s", e.Path, e.Code, e.Message)
}

// pluginCall makes a request to the plugin's API (path below /plugins/<id>) with the bot's
// token, through the model.Client4's HTTP client, and decodes a 2xx answer into out (when
// not nil). A plain request rather than a Client4 helper: those read Mattermost's own error
// format, and the plugin's error code is what a bot acts on.
func (a *App) pluginCall(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.siteURL+"/plugins/"+PluginID+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.Client.AuthToken)
	resp, err := a.Client.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("socketmode: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("socketmode: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("socketmode: %s %s: the answer %q: %w", method, path, truncate(raw), err)
		}
		return nil
	}
	// {"error": {"code", "message"}}; anything else did not come from the plugin.
	var refusal struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &refusal) != nil || refusal.Error.Code == "" {
		return &APIError{Status: resp.StatusCode, Code: fmt.Sprintf("http_%d", resp.StatusCode), Path: path,
			Message: strings.TrimSpace(truncate(raw))}
	}
	return &APIError{Status: resp.StatusCode, Code: refusal.Error.Code, Message: refusal.Error.Message, Path: path}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
