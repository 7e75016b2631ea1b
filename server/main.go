// Command plugin is the server side of Socket Mode for Mattermost: a thin shim that runs the
// Rust core (compiled to WebAssembly and embedded) and carries out what it decides.
package main

import "github.com/mattermost/mattermost/server/public/plugin"

func main() {
	keepMonitorAwake()
	procs.manageRuntime()
	p := &Plugin{}
	plugin.ClientMain(p, servingStreamsAtOnce(p))
}
