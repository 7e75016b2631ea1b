package socketmode

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The library is versioned with the plugin: plugin.json is the single source of truth.
func TestVersionAndPluginIDAreThePlugins(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "plugin.json"))
	if os.IsNotExist(err) {
		t.Skip("plugin.json is not here: the module was copied out of the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct{ ID, Version string }
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if Version != manifest.Version {
		t.Errorf("socketmode.Version = %q, plugin.json says %q: change version.go", Version, manifest.Version)
	}
	if PluginID != manifest.ID {
		t.Errorf("socketmode.PluginID = %q, plugin.json says %q", PluginID, manifest.ID)
	}
}
