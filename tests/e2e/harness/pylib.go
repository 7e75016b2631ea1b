package harness

import (
	"context"
	"fmt"
	"strings"
)

// PythonLibPath creates the venv of the Python Socket Mode library once
// (scripts/pylibenv.sh: the library from this clone, its dependencies,
// mmpy_bot), installs the library again when its files changed, and returns
// the venv's python.
func (e *Env) PythonLibPath(ctx context.Context) (string, error) {
	out, err := e.script(ctx, "pylibenv.sh")
	if err != nil {
		return "", fmt.Errorf("scripts/pylibenv.sh: %w", err)
	}
	return strings.TrimSpace(lastLine(out)), nil
}
