package main

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testHeld = json.RawMessage(`{"bot":"bot1bot1bot1bot1bot1bot1b1","event":"action"}`)

// An answer and the end of the window race: exactly one wins. When the answer wins the input
// gets it; when the window wins the claim fails, and is reported only once the input that
// waited is decided (it keeps the event first), so the acknowledgement then finds it kept.
func TestAClaimAndTheEndOfTheWindowRaceAndExactlyOneWins(t *testing.T) {
	for range 200 {
		var w waiters
		w.expect("ev1", testHeld)
		var got json.RawMessage
		var claimed string
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); got = w.await("ev1", testHeld, time.Millisecond).answer }()
		go func() {
			defer wg.Done()
			time.Sleep(time.Millisecond)
			claimed = w.claim("ev1", json.RawMessage(`{"ephemeral_text":"hi"}`), nil)
		}()
		// The input is decided once its wait is over, as the shim's decide loop does.
		go func() {
			for {
				w.mu.Lock()
				state := w.waiting["ev1"].state
				w.mu.Unlock()
				if state != "waiting" {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			time.Sleep(2 * time.Millisecond) // the rounds that keep the event
			w.decided([]string{"ev1"})
		}()
		wg.Wait()
		switch claimed {
		case "claimed":
			assert.JSONEq(t, `{"ephemeral_text":"hi"}`, string(got), "the claim won: the input has the answer")
		case "ended":
			assert.Nil(t, got, "the window won: the input has no answer")
			w.mu.Lock()
			select {
			case <-w.waiting["ev1"].decided:
			default:
				t.Fatal("an ended claim is reported only once the input is decided")
			}
			w.mu.Unlock()
		default:
			t.Fatalf("claim answered %q", claimed)
		}
	}
}

// What an acknowledgement learns of a wait: its state and what the core said of it; a second
// claim is told the first won; a wait nobody registered is unknown here.
func TestHeldDescribesTheWaitAndASecondClaimIsADuplicate(t *testing.T) {
	var w waiters
	assert.Equal(t, "null", string(w.heldState("ev1")))
	w.expect("ev1", testHeld)
	assert.JSONEq(t, `{"state":"waiting","bot":"bot1bot1bot1bot1bot1bot1b1","event":"action"}`, string(w.heldState("ev1")))
	assert.Equal(t, "claimed", w.claim("ev1", json.RawMessage(`{}`), nil))
	assert.Equal(t, "answered", w.claim("ev1", json.RawMessage(`{}`), nil))
	assert.JSONEq(t, `{"state":"answered","bot":"bot1bot1bot1bot1bot1bot1b1","event":"action"}`, string(w.heldState("ev1")))
	assert.Equal(t, "absent", w.claim("ev2", json.RawMessage(`{}`), nil))

	// A relay's wait (nothing held) is not an event's: acknowledgements never see it.
	w.expect("relay1", nil)
	assert.Equal(t, "null", string(w.heldState("relay1")))
	assert.Equal(t, "absent", w.claim("relay1", json.RawMessage(`{}`), nil))
	w.wake("relay1", json.RawMessage(`{"status":"applied"}`))
	assert.JSONEq(t, `{"status":"applied"}`, string(w.await("relay1", nil, time.Second).answer))
}

// An ended wait is remembered for a while (a late acknowledgement is answered without the
// store), and the memory stays bounded.
func TestEndedWaitsAreRememberedThenSwept(t *testing.T) {
	var w waiters
	w.expect("ev1", testHeld)
	require.Nil(t, w.await("ev1", testHeld, 0).answer)
	w.decided([]string{"ev1"})
	assert.JSONEq(t, `{"state":"ended","bot":"bot1bot1bot1bot1bot1bot1b1","event":"action"}`, string(w.heldState("ev1")))
	w.mu.Lock()
	w.waiting["ev1"].ended = time.Now().Add(-tombstoneLife - time.Second)
	w.sweep(time.Now(), false)
	_, still := w.waiting["ev1"]
	w.mu.Unlock()
	assert.False(t, still, "a tombstone past its life is swept")
}
