package store

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// benchWords start the benchmark's names, so that short prefixes match thousands of rows.
var benchWords = []string{"dance", "dab", "macarena", "moonwalk", "floss", "shuffle", "twist", "wave",
	"robot", "salsa", "tango", "waltz", "disco", "hip hop", "breakdance", "cha cha", "conga", "limbo",
	"polka", "samba"}

// seedSuggest fills db with 10,000 scenes (half of them in guild g0, the rest in 49 other guilds)
// and 10,000 characters (300 of user u0, 4,000 others' shared with g0, the rest elsewhere), one
// status in ten not ready.
func seedSuggest(b *testing.B, db *DB) {
	b.Helper()
	tx, err := db.SQL().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	status := func(i int) Status {
		return [...]Status{StatusFailed, StatusPending, StatusProcessing, StatusReady, StatusReady,
			StatusReady, StatusReady, StatusReady, StatusReady, StatusReady}[i%10]
	}
	persons := `[{"uuid":"person_a","type":"human"},{"uuid":"person_b","type":"human"},{"uuid":"person_c","type":"dog"}]`
	for i := range 10_000 {
		guild := "g0"
		if i%2 == 1 {
			guild = fmt.Sprint("g", 1+i%49)
		}
		name := fmt.Sprintf("%s %s %d", benchWords[i%len(benchWords)], benchWords[(i/7)%len(benchWords)], i)
		if _, err := tx.ExecContext(b.Context(), `INSERT INTO scenes (`+sceneColumns+`, name_key)
			VALUES (?, ?, '', ?, ?, '', ?, '', 12000, ?, 'u1', 1, 1, ?)`,
			fmt.Sprint("s", i), guild, fmt.Sprintf("scene_%016x", uint64(i)*0x9e3779b97f4a7c15), name, status(i),
			persons, nameKey(name)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10_000 {
		owner, guild, shared := fmt.Sprint("u", 1+i%2000), fmt.Sprint("g", 1+i%49), false
		switch {
		case i < 300:
			owner, guild = "u0", []string{"g0", "g1", "g2"}[i%3]
		case i < 4300:
			guild, shared = "g0", true
		}
		name := fmt.Sprintf("%s %d", benchWords[i%len(benchWords)], i)
		if _, err := tx.ExecContext(b.Context(), `INSERT INTO characters (`+characterColumns+`, name_key)
			VALUES (?, ?, ?, '', ?, ?, ?, ?, '', '', 1, 1, '', '', NULL, ?)`,
			fmt.Sprint("c", i), owner, guild, fmt.Sprintf("char_%016x", uint64(i)*0x9e3779b97f4a7c15), name, shared,
			status(i), nameKey(name)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(b.Context(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// typed returns what autocomplete sends while each of words is typed: every prefix, from "".
func typed(words ...string) []string {
	var out []string
	for _, w := range words {
		for n := range len(w) + 1 {
			out = append(out, w[:n])
		}
	}
	return out
}

// BenchmarkSuggest answers autocomplete with 10,000 scenes and 10,000 characters in the database, with
// the prefixes a member sends while typing. One op is one answer: for `scene`, SuggestScenes; for
// `map`, the scene's persons (SceneByViggleID) and SuggestCharacters. It reports the 50th and 99th
// percentile of one answer (target: p99 ≤ 5 ms).
func BenchmarkSuggest(b *testing.B) {
	db := openTest(b)
	seedSuggest(b, db)
	scenes, err := db.SuggestScenes(b.Context(), "g0", "", MaxSuggestions)
	if err != nil || len(scenes) != MaxSuggestions {
		b.Fatalf("SuggestScenes: %d scenes, %v", len(scenes), err)
	}
	sceneID := scenes[0].ViggleID

	run := func(b *testing.B, prefixes []string, answer func(prefix string) (int, error)) {
		lat := make([]time.Duration, 0, 1<<16)
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			n, err := answer(prefixes[i%len(prefixes)])
			lat = append(lat, time.Since(start))
			if err != nil || n > MaxSuggestions {
				b.Fatalf("answer %q: %d choices, %v", prefixes[i%len(prefixes)], n, err)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*50/100].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("scene", func(b *testing.B) {
		prefixes := typed("macarena moonwalk 1", "Hip Hop", "scene_", "zzz", "d%_")
		run(b, prefixes, func(prefix string) (int, error) {
			s, err := db.SuggestScenes(b.Context(), "g0", prefix, MaxSuggestions)
			return len(s), err
		})
	})
	b.Run("map", func(b *testing.B) {
		prefixes := typed("dance 4", "SAMBA 9", "breakdance", "zzz")
		run(b, prefixes, func(prefix string) (int, error) {
			if _, err := db.SceneByViggleID(b.Context(), "g0", sceneID); err != nil {
				return 0, err
			}
			cs, err := db.SuggestCharacters(b.Context(), "u0", "g0", "", prefix, MaxSuggestions)
			return len(cs), err
		})
	})
}
