package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two facts that differ in any field of their query are two cache entries (a user's two
// permissions, two keys), whatever field a later query gains; only the answer's name, its
// accepted age, its projection (kept apart by field list) and the answer the core expects do
// not name the fact.
func TestCacheKeysNameEveryFieldOfAQuery(t *testing.T) {
	base := cacheKey(query{})
	ignored := map[string]bool{"Name": true, "CacheMs": true, "Fields": true, "Likely": true}
	seen := map[string]string{}
	v := reflect.TypeOf(query{})
	for i := range v.NumField() {
		field := v.Field(i)
		var q query
		f := reflect.ValueOf(&q).Elem().Field(i)
		switch {
		case field.Type == reflect.TypeOf(json.RawMessage(nil)):
			f.Set(reflect.ValueOf(json.RawMessage(`"x"`)))
		case field.Type.Kind() == reflect.String:
			f.SetString("x")
		case field.Type.Kind() == reflect.Int || field.Type.Kind() == reflect.Int64:
			f.SetInt(1)
		case field.Type.Kind() == reflect.Pointer:
			f.Set(reflect.New(field.Type.Elem()))
		case field.Type.Kind() == reflect.Slice:
			f.Set(reflect.ValueOf([]string{"x"}))
		case field.Type.Kind() == reflect.Map:
			f.Set(reflect.ValueOf(map[string]json.RawMessage{"x": json.RawMessage(`1`)}))
		default:
			t.Fatalf("query.%s: a field of a kind this test does not know (%s)", field.Name, field.Type)
		}
		key := cacheKey(q)
		if ignored[field.Name] {
			assert.Equal(t, base, key, "query.%s does not name the fact", field.Name)
			continue
		}
		assert.NotEqual(t, base, key, "query.%s names the fact", field.Name)
		if other, dup := seen[key]; dup {
			t.Errorf("query.%s and query.%s give one key", field.Name, other)
		}
		seen[key] = field.Name
	}
	// Values are delimited by their lengths: moving text between fields changes the key.
	assert.NotEqual(t, cacheKey(query{Fact: "ab", Key: "c"}), cacheKey(query{Fact: "a", Key: "bc"}))
}

// gatedKey is the no-op API whose read of the signing key waits until released: a read in
// flight while the key is rotated.
type gatedKey struct {
	*noopAPI
	reading chan struct{}
	release chan struct{}
}

func (a gatedKey) KVGet(key string) ([]byte, *model.AppError) {
	if key == "signing_key" {
		a.reading <- struct{}{}
		<-a.release
	}
	return a.noopAPI.KVGet(key)
}

// TestAKeyReadDuringARotationIsNotKept: a post hook reads the signing key; before the answer
// comes back, the key is rotated on this node (the core's forget effect). The old key that read
// returns is used by that one input, but not kept: kept, every input of the next minute would
// get it with its first call (a standing fact), and clicks signed under the rotated-out key
// would still verify here.
func TestAKeyReadDuringARotationIsNotKept(t *testing.T) {
	api, _, _ := clickAPI(t)
	gated := gatedKey{noopAPI: api, reading: make(chan struct{}), release: make(chan struct{})}
	activating := make(chan *Plugin)
	go func() { activating <- activated(t, gated) }()
	<-gated.reading // activation reads the key afresh
	gated.release <- struct{}{}
	p := <-activating
	require.NotEmpty(t, p.info.Standing)
	keyring := p.info.Standing[0]

	var in struct {
		PostToSave postToSave `json:"post_will_be_saved"`
	}
	require.NoError(t, json.Unmarshal(loadFixtures(t)["sign_post_signed"].Input, &in))
	var post model.Post
	require.NoError(t, json.Unmarshal(in.PostToSave.Post, &post))
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.MessageWillBePosted(nil, &post)
	}()
	<-gated.reading
	p.carryOut([]effect{{Type: "forget", Fact: &keyring}}) // the rotation, meanwhile
	gated.release <- struct{}{}
	<-done

	_, kept := p.cache.get(keyring, p.now())
	assert.False(t, kept, "the key read before the rotation is not kept")

	// The next read, after the rotation, is kept as ever.
	go func() { <-gated.reading; gated.release <- struct{}{} }()
	require.NoError(t, json.Unmarshal(in.PostToSave.Post, &post))
	p.MessageWillBePosted(nil, &post)
	_, kept = p.cache.get(keyring, p.now())
	assert.True(t, kept)
}

// madeUp is the fact a click with made-up trigger i leaves behind (the core's remember effect),
// as any signed-in user can post as many of as they like.
func madeUp(i int) query {
	return query{Fact: "kv_get", Key: fmt.Sprintf("trigger_madeup%d", i), CacheMs: 60_000}
}

// rememberedPlace keeps in c, as the core's remember effect does, the place of one trigger.
func rememberedPlace(c *factCache, q query, now time.Time) {
	c.remember(q, json.RawMessage(`{"channel_id":"c"}`), now)
}

// TestAFloodOfMadeUpFactsPushesOutOnlyTheOldest: one user's clicks with made-up triggers fill
// the cache; another's click, remembered shortly before, is still found when that bot opens its
// dialog. A full cache drops its oldest fact, one per new one, never all of them at once.
func TestAFloodOfMadeUpFactsPushesOutOnlyTheOldest(t *testing.T) {
	var c factCache
	now := time.UnixMilli(1_700_000_000_000)
	first := query{Fact: "kv_get", Key: "trigger_oldest", CacheMs: 60_000}
	rememberedPlace(&c, first, now)
	recent := query{Fact: "kv_get", Key: "trigger_someone_else", CacheMs: 60_000}
	for i := range maxCachedFacts - 2 {
		rememberedPlace(&c, madeUp(i), now)
	}
	rememberedPlace(&c, recent, now) // the cache is now full
	for i := maxCachedFacts; i < maxCachedFacts+9_000; i++ {
		rememberedPlace(&c, madeUp(i), now)
		require.LessOrEqual(t, len(c.entries), maxCachedFacts)
	}
	_, kept := c.get(recent, now)
	assert.True(t, kept, "a fact stored before 9,000 others is still there")
	_, kept = c.get(first, now)
	assert.False(t, kept, "the oldest made room")
	_, kept = c.get(madeUp(8_998), now)
	assert.False(t, kept, "as did the next oldest")
	_, kept = c.get(madeUp(8_999), now)
	assert.True(t, kept, "but no more than the flood needed")

	for i := maxCachedFacts + 9_000; i < 3*maxCachedFacts; i++ {
		rememberedPlace(&c, madeUp(i), now)
		require.LessOrEqual(t, len(c.entries), maxCachedFacts)
		require.LessOrEqual(t, len(c.order), 2*maxCachedFacts, "the order kept is bounded too")
	}
	assert.Len(t, c.entries, maxCachedFacts)
	_, kept = c.get(recent, now)
	assert.False(t, kept, "10,000 newer facts push out any")
	for _, i := range []int{3*maxCachedFacts - maxCachedFacts, 3*maxCachedFacts - 1} {
		_, kept = c.get(madeUp(i), now)
		assert.True(t, kept, "the newest are kept (%d)", i)
	}
	_, kept = c.get(madeUp(3*maxCachedFacts-maxCachedFacts-1), now)
	assert.False(t, kept, "and only they")
}

// TestAFactStoredAgainIsNew: a fact stored again (another projection, or asked again) goes to
// the back of the order, the older store of it no longer counting.
func TestAFactStoredAgainIsNew(t *testing.T) {
	var c factCache
	now := time.UnixMilli(1_700_000_000_000)
	again := madeUp(-1)
	rememberedPlace(&c, again, now)
	for i := range maxCachedFacts - 1 {
		rememberedPlace(&c, madeUp(i), now)
	}
	projected := again
	projected.Fields = []string{"channel_id"}
	c.put(projected, json.RawMessage(`{"found":{"channel_id":"c"}}`), now) // stored again
	for i := maxCachedFacts; i < maxCachedFacts+maxCachedFacts/2; i++ {
		rememberedPlace(&c, madeUp(i), now)
	}
	assert.Len(t, c.entries, maxCachedFacts)
	for _, q := range []query{again, projected} {
		_, kept := c.get(q, now)
		assert.True(t, kept, "stored again, it is newer than what came between (%v)", q.Fields)
	}
	_, kept := c.get(madeUp(0), now)
	assert.False(t, kept, "what was stored after its first store is older now")

	// Forgotten and stored again, it is new too; its stale pairs are skipped.
	c.forget(again)
	rememberedPlace(&c, again, now)
	for i := 2 * maxCachedFacts; i < 2*maxCachedFacts+maxCachedFacts-1; i++ {
		rememberedPlace(&c, madeUp(i), now)
	}
	_, kept = c.get(again, now)
	assert.True(t, kept)
	assert.Len(t, c.entries, maxCachedFacts)
}

// TestForgetForgetsEveryProjection: forgetting a fact forgets each projection it was kept in,
// and an answer asked before the forget is not kept after it; other facts stay.
func TestForgetForgetsEveryProjection(t *testing.T) {
	var c factCache
	now := time.UnixMilli(1_700_000_000_000)
	post := query{Fact: "get_post", PostID: "p", CacheMs: 60_000}
	whole := post
	projected := post
	projected.Fields = []string{"message"}
	other := query{Fact: "get_post", PostID: "q", CacheMs: 60_000}
	for _, q := range []query{whole, projected, other} {
		c.put(q, json.RawMessage(`{"found":{"message":"m"}}`), now)
	}
	asked := c.generation()
	c.forget(post)
	for _, q := range []query{whole, projected} {
		_, kept := c.get(q, now)
		assert.False(t, kept, "forgotten (%v)", q.Fields)
	}
	_, kept := c.get(other, now)
	assert.True(t, kept, "another fact stays")

	c.putAsked(whole, json.RawMessage(`{"found":{"message":"old"}}`), now, asked)
	_, kept = c.get(whole, now)
	assert.False(t, kept, "asked before the forget, not kept")
	c.putAsked(whole, json.RawMessage(`{"found":{"message":"new"}}`), now, c.generation())
	answer, kept := c.get(whole, now)
	assert.True(t, kept)
	assert.JSONEq(t, `{"found":{"message":"new"}}`, string(answer))
}
