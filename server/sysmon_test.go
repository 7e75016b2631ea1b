package main

import (
	"slices"
	"testing"
)

func TestTheMonitorIsKeptAwakeThroughGODEBUG(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		want    []string
		changed bool
	}{
		{"no GODEBUG", []string{"A=1"}, []string{"A=1", "GODEBUG=" + schedtrace}, true},
		{"an empty one", []string{"GODEBUG=", "A=1"}, []string{"GODEBUG=" + schedtrace, "A=1"}, true},
		{"the administrator's settings kept", []string{"GODEBUG=http2client=0"},
			[]string{"GODEBUG=http2client=0," + schedtrace}, true},
		// The runtime reads the first; a second would only confuse whoever reads the environment.
		{"two GODEBUGs", []string{"GODEBUG=madvdontneed=1", "B=2", "GODEBUG=x=1"},
			[]string{"GODEBUG=madvdontneed=1," + schedtrace, "B=2"}, true},
		// Started again already, or an administrator tracing the scheduler: nothing to do, so
		// the plugin never starts itself twice.
		{"already set", []string{"GODEBUG=" + schedtrace}, []string{"GODEBUG=" + schedtrace}, false},
		{"the administrator's own trace", []string{"GODEBUG=gctrace=1,schedtrace=1000"},
			[]string{"GODEBUG=gctrace=1,schedtrace=1000"}, false},
		// The runtime does not trim: " schedtrace" is another key, and ours is added.
		{"a key with a space", []string{"GODEBUG=gctrace=1, schedtrace=1000"},
			[]string{"GODEBUG=gctrace=1, schedtrace=1000," + schedtrace}, true},
		// How an administrator turns this off (README, "Settings"): the monitor sleeps deeply again.
		{"turned off", []string{"GODEBUG=schedtrace=0"}, []string{"GODEBUG=schedtrace=0"}, false},
	}
	for _, c := range cases {
		got, changed := withSchedtrace(c.env)
		if changed != c.changed || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, changed, c.want, c.changed)
		}
		if again, twice := withSchedtrace(got); twice || !slices.Equal(again, got) {
			t.Errorf("%s: a second start would change %q again: %q", c.name, got, again)
		}
	}
}
