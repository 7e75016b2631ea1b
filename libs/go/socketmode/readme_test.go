package socketmode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The README's quick start is a program that builds: it is type-checked here, against this
// library, as a bot's own module using it by path would be.
func TestTheREADMEQuickStartBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\npackage main\n")
	program, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README has no quick start (a ```go block starting with package main)")
	}
	lib, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/socketmode/mattermost-plugin-interactive-message-actions-to-websocket-proxy/libs/go"
	dir := t.TempDir()
	goMod := "module quickstart\n\ngo 1.24.6\n\nrequire " + module + " v1.1.0\n\nreplace " + module + " => " + lib + "\n"
	sum, err := os.ReadFile(filepath.Join(lib, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"go.mod": goMod, "go.sum": string(sum), "main.go": "package main\n" + program} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vet := exec.Command(goTool, "vet", ".")
	vet.Dir = dir
	vet.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := vet.CombinedOutput(); err != nil {
		t.Fatalf("the README's quick start does not build: %v\n%s\n%s", err, out, program)
	}
}
