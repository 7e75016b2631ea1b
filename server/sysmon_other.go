//go:build !unix

package main

// keepMonitorAwake does nothing where a process cannot start itself again in place (Windows).
func keepMonitorAwake() {}
