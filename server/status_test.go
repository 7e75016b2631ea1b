package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A bot's status counts its kept events by reading every one of their queue entries: with as
// many kept as the setting allows (5,000 here), the bot and an administrator still get their
// status, not an internal error (the reading runs on the bulk lane, whose budget is sized for it).
func TestStatusOfABotWhoseQueueIsFull(t *testing.T) {
	w := newWorld(t, 1)
	const kept = 5000 // simAPI's KeptPerBot
	api := &simAPI{w: w}
	counter, _ := json.Marshal(queueRange{First: 0, Next: kept})
	_, _ = api.KVSetWithOptions("qc_"+simBot.Id, counter, model.PluginKVSetOptions{})
	for seq := range kept {
		entry := fmt.Sprintf(`{"event_id":%q,"at":%d,"user":%q}`, model.NewId(), 1700000000000+seq, simAlice.Id)
		_, _ = api.KVSetWithOptions(fmt.Sprintf("qi_%s_%d", simBot.Id, seq), []byte(entry), model.PluginKVSetOptions{})
	}

	r := httptest.NewRequest("GET", "/api/v1/status", nil)
	r.Header.Set("Mattermost-User-Id", simBot.Id)
	rec := httptest.NewRecorder()
	w.nodes[0].ServeHTTP(nil, rec, r)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var status map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &status))
	assert.EqualValues(t, kept, status["kept"])
}
