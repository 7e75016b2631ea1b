package main

import (
	"testing"
)

// BenchmarkMessageWillBeUpdated is the post hook a click's answer runs inside Mattermost before
// the click is answered: an `update` of the message keeps the post's props, so the hook gets the
// post with its signed 40-option menu (the benchmarks' click rounds on the real server). Beside
// it, the same edit of another integration's post (its menu's clicks go elsewhere): what every
// other edit with attachments costs, and what a native integration's answer pays in this hook.
func BenchmarkMessageWillBeUpdated(b *testing.B) {
	api, _, _ := clickAPI(b)
	p := activated(b, api)
	for _, c := range []struct {
		name string
		url  string
	}{
		{"signed buttons kept", "/plugins/" + p.info.PluginID + "/api/v1/handler"},
		{"another integration's", "http://127.0.0.1:9/click"},
	} {
		b.Run(c.name, func(b *testing.B) {
			saved := menuPost(c.url, 40)
			if signed, _ := p.MessageWillBePosted(nil, saved); signed != nil {
				saved = signed
			}
			b.ReportAllocs()
			before := p.core.calls.Load()
			for b.Loop() {
				b.StopTimer()
				update := saved.Clone()
				update.Message = "Deployed 7"
				update.SetProps(gobSafe(map[string]any(saved.GetProps())).(map[string]any)) // as the RPC delivers them
				b.StartTimer()
				if got, rejection := p.MessageWillBeUpdated(nil, update, saved); got == nil || rejection != "" {
					b.Fatalf("the edit was refused: %q", rejection)
				}
			}
			b.ReportMetric(float64(p.core.calls.Load()-before)/float64(b.N), "core-calls/op")
		})
	}
}
