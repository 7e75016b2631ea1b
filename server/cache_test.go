package main

import (
	"encoding/json"
	"reflect"
	"testing"

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
