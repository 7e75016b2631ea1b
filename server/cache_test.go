package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
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
