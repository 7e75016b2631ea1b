package main

import (
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
)

// compilationCacheDir is where compiled code is kept between processes: beside the plugin's
// bundle, so that a new version of the plugin (a new bundle directory) starts afresh and an
// uninstall takes it away. Compiling the core takes 0.5-1 s; loading it from here takes tens of
// milliseconds, which is what keeps a restart's activation within SPEC §8's 300 ms.
func compilationCacheDir(bundlePath string) string {
	if bundlePath == "" {
		return ""
	}
	return filepath.Join(bundlePath, "wazero-cache")
}

// compilationCache is the cache for dir (in memory only when dir is empty or unusable): a miss
// or a directory that cannot be written only costs a compilation, never an activation.
func compilationCache(dir string) wazero.CompilationCache {
	if cached, ok := compilationCaches.Load(dir); ok {
		return cached.(wazero.CompilationCache)
	}
	cache := wazero.NewCompilationCache()
	if dir != "" && os.MkdirAll(dir, 0o700) == nil {
		if onDisk, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			cache = onDisk
		}
	}
	actual, _ := compilationCaches.LoadOrStore(dir, cache)
	return actual.(wazero.CompilationCache)
}
