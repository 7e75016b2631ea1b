//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// keepMonitorAwake starts the plugin again, in the same process, with schedtrace in GODEBUG
// (sysmon.go). It returns only when nothing is to be done or the new start failed; the plugin
// then runs as it would have.
func keepMonitorAwake() {
	env, changed := withSchedtrace(os.Environ())
	if !changed {
		return
	}
	// On Linux the running binary itself, even if an upgrade replaced its file meanwhile (its
	// path would then start the new version, or nothing); elsewhere its path.
	exe := "/proc/self/exe"
	if runtime.GOOS != "linux" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return
		}
	}
	_ = syscall.Exec(exe, os.Args, env)
}
