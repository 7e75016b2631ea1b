package main

import (
	"testing"

	"github.com/segmentio/encoding/json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shim fills a prefetch query twice, as text (what the core compares) and as the decoded
// query (what the cache and the plugin API read): the two must say the same, or a cached
// answer would be looked up under another question than the one the core takes it for.
func TestPrefetchFillsTheQueryAsItsText(t *testing.T) {
	p, _ := newTestPlugin(t)
	plan := p.prefetchPlans["/api/v1/handler"]
	require.NotNil(t, plan)
	require.NotEmpty(t, plan.templates)
	values := make([]string, len(plan.markers))
	for i := range values {
		values[i] = "abcdefghijklmnopqrstuvw" + string(rune('a'+i)) + "01"
	}
	for _, tmpl := range plan.templates {
		raw, q, ok := tmpl.fill(plan.markers, values)
		require.True(t, ok)
		var decoded query
		require.NoError(t, json.Unmarshal(raw, &decoded))
		assert.Equal(t, decoded, q, "%s", raw)
		assert.Equal(t, cacheKey(decoded), cacheKey(q))
		for _, m := range plan.markers {
			assert.NotContains(t, string(raw), m.id)
		}
	}
}
