package main

import "strings"

// The Go runtime's monitor thread (sysmon) sleeps deeply whenever every processor is idle, and
// the next system call wakes it and makes it poll every 20 µs again. A click's work in the
// plugin is short pieces between round trips to the server, so the processor goes idle and
// busy again many times a click, and each time a system call wakes the monitor (a futex
// wake-up) and the monitor's thread runs and sleeps: 13.5 % of the plugin's CPU on the real
// server, and 4 % more in the wake-ups (docs/BENCHMARKS.md, "The monitor thread kept awake"). With
// GODEBUG's schedtrace set, the monitor never sleeps deeply: it polls, and backs off to once
// every 10 ms after a millisecond with nothing to do. The trace it then prints (one line) goes
// to the plugin's standard error at most once every 24.8 days (the runtime counts from the
// machine's boot), and a scheduler dump with a crash.
//
// GODEBUG is read when the process starts, so the plugin starts itself again with it
// (sysmon_unix.go): the same process, its pipes to Mattermost untouched.
const schedtrace = "schedtrace=2147483647" // ms: the longest the runtime takes, 24.8 days

// withSchedtrace is env with schedtrace added to GODEBUG, and whether it had to be: an
// administrator's own schedtrace, or a process already started again, is left as it is.
func withSchedtrace(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		value, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		if found {
			continue // the runtime reads the first GODEBUG only
		}
		found = true
		for _, setting := range strings.Split(value, ",") {
			// As the runtime reads it: a key with a space before it is another key.
			if strings.HasPrefix(setting, "schedtrace=") {
				return env, false
			}
		}
		if value != "" {
			value += ","
		}
		out = append(out, "GODEBUG="+value+schedtrace)
	}
	if !found {
		out = append(out, "GODEBUG="+schedtrace)
	}
	return out, true
}
