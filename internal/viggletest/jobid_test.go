package viggletest

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestJobIDRoundTrip(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 27, 12, 0, 0, 123e6, time.UTC)
	tests := []jobKey{
		{scene: "scene_demo", created: created, bg: "original"},
		{scene: "scene.with.dots", created: created, bg: "transparent", fast: true},
		{scene: "660e8400-e29b-41d4-a716-446655440000", created: created, bg: "solid"},
		{scene: strings.Repeat("x", maxSceneIDLen), created: created.Add(100 * 365 * 24 * time.Hour), bg: "inpaint", fast: true},
		{scene: sceneHash(strings.Repeat("y", 128)), hashed: true, created: created, bg: "solid", fast: true},
	}
	seen := map[string]bool{}
	for _, k := range tests {
		for range 3 {
			id := encodeJobID(k)
			if len(id) > maxJobIDLen || !strings.HasPrefix(id, jobIDPrefix) {
				t.Fatalf("id %q: want job_ prefix and <= %d chars", id, maxJobIDLen)
			}
			if strings.ContainsFunc(id, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) {
				t.Fatalf("id %q is not URL-safe", id)
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
			got, ok := decodeJobID(id)
			if !ok || got != k {
				t.Fatalf("decode(%q) = %+v, %v; want %+v", id, got, ok, k)
			}
		}
	}
}

func TestJobIDRejects(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return jobIDPrefix + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	valid := encodeJobID(jobKey{scene: "scene_demo", created: time.UnixMilli(1e12), bg: "original"})
	tests := []string{
		"", "job_", "job_!!!!", "abc", "JOB_" + valid[4:], valid + "=",
		enc("2.abc.o0.nonce.scene"), // version
		enc("1.abc.x0.nonce.scene"), // background code
		enc("1.abc.o2.nonce.scene"), // fast flag
		enc("1.-5.o0.nonce.scene"),  // negative time
		enc("1.abc.o0..scene"),      // empty nonce
		enc("1.abc.o0.nonce."),      // empty scene
		enc("1.abc.o0.nonce"),       // missing part
		enc("1.abc.o0.n." + strings.Repeat("s", maxSceneIDLen+1)),
	}
	for _, id := range tests {
		if k, ok := decodeJobID(id); ok {
			t.Errorf("decodeJobID(%q) = %+v, want rejected", id, k)
		}
	}
}
