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

// A bot's status counts its kept events from their queue entries: with as many kept as the
// setting allows at most (10,000), the bot still gets its status, not an internal error (the
// reading runs on the bulk lane), within a twentieth of that lane's budget.
func TestStatusOfABotWhoseQueueIsFull(t *testing.T) {
	const kept = 10_000
	w := newWorldWith(t, 1, map[string]any{"keptperbot": kept})
	api := &simAPI{w: w}
	counter, _ := json.Marshal(queueRange{First: 0, Next: kept})
	_, _ = api.KVSetWithOptions("qc_"+simBot.Id, counter, model.PluginKVSetOptions{})
	for seq := range kept {
		entry := fmt.Sprintf(`{"event_id":%q,"at":%d,"user":%q}`, model.NewId(), 1700000000000+seq, simAlice.Id)
		_, _ = api.KVSetWithOptions(fmt.Sprintf("qi_%s_%d", simBot.Id, seq), []byte(entry), model.PluginKVSetOptions{})
	}
	// The two oldest were answered since (their entries gone): they are not counted.
	_ = api.KVDelete(fmt.Sprintf("qi_%s_0", simBot.Id))
	_ = api.KVDelete(fmt.Sprintf("qi_%s_1", simBot.Id))

	r := httptest.NewRequest("GET", "/api/v1/status", nil)
	r.Header.Set("Mattermost-User-Id", simBot.Id)
	rec := httptest.NewRecorder()
	w.nodes[0].ServeHTTP(nil, rec, r)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var status map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &status))
	assert.EqualValues(t, kept-2, status["kept"])
	assert.EqualValues(t, 1700000000002, status["oldest_kept_at"])

	// Within a twentieth of the bulk lane's budget (it took more than a tenth when the entries
	// were read into a map): the same status on a twentieth of it still answers.
	p := w.nodes[0]
	bulk := p.info.Lanes[laneNames[laneBulk]]
	bulk.Fuel /= 20
	p.info.Lanes[laneNames[laneBulk]] = bulk
	rec = httptest.NewRecorder()
	p.ServeHTTP(nil, rec, r.Clone(r.Context()))
	require.Equal(t, 200, rec.Code, rec.Body.String())
}
