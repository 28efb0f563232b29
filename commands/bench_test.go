package commands

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/store"
)

// BenchmarkMapAutocomplete answers /render's `map` autocomplete as the router does for a member typing,
// with 10,000 scenes and 10,000 characters in the database (issue 9: p99 ≤ 5 ms). Each operation is one
// whole autocomplete interaction: routing, the scene's persons, the caller's and the guild's characters,
// the choices built and "sent" to a recording REST double.
func BenchmarkMapAutocomplete(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bot.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	seedCatalog(b, db)
	r := NewHandler(nil, db, nil, nil, nil)

	// What Discord sends while a member types a map on scene 00042: persons, then characters.
	var typed []string
	for _, m := range []string{"person_00042_a=char", "person_00042_a=char_001", "person_00042_a=char_0012, person_00042_b=ch"} {
		for n := 0; n <= len(m); n += 3 {
			typed = append(typed, m[:n])
		}
	}
	inters := make([]*discordgo.Interaction, 0, len(typed))
	for _, v := range typed {
		inters = append(inters, interaction(b, "autocomplete_render", withOptions(OptMap, OptScene, "scene_00042", OptMap, v)))
	}
	// The data is what it should be: persons are offered first, then characters by name.
	for _, c := range []struct{ typed, want string }{{"", "person_00042_a"}, {"person_00042_a=char_001", "char_0010"}} {
		rest := resttest.New()
		r.HandleInteraction(ctx, rest, interaction(b, "autocomplete_render", withOptions(OptMap, OptScene, "scene_00042", OptMap, c.typed)), 0)
		if calls := rest.Calls(); len(calls) != 1 || !strings.Contains(string(calls[0].Body), c.want) {
			b.Fatalf("typing %q: answered %v, want choices with %s", c.typed, calls, c.want)
		}
	}
	durs := make([]time.Duration, 0, b.N)
	k := 0
	for b.Loop() {
		i := inters[k%len(inters)]
		k++
		rest := resttest.New()
		start := time.Now()
		r.HandleInteraction(ctx, rest, i, 0)
		durs = append(durs, time.Since(start))
		if calls := rest.Calls(); len(calls) != 1 {
			b.Fatalf("autocomplete answered with %d calls", len(calls))
		}
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}

// seedCatalog writes 10,000 scenes (half in the test guild, 3 persons each) and 10,000 characters (300
// of the test member's, 4,000 shared in the test guild, the rest elsewhere) in one transaction.
func seedCatalog(b *testing.B, db *store.DB) {
	b.Helper()
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for n := range 10000 {
		guild := testGuild
		if n%2 == 1 {
			guild = "200000000000000009"
		}
		persons := fmt.Sprintf(`[{"uuid":"person_%05d_a","type":"human"},{"uuid":"person_%05d_b","type":"human"},{"uuid":"person_%05d_c","type":"human"}]`, n, n, n)
		name := fmt.Sprintf("scene %05d", n)
		if _, err := tx.Exec(`INSERT INTO scenes (id, guild_id, key_ref, viggle_id, name, name_key, template_id, status, error,
			duration_ms, persons, imported_by, created_at, updated_at) VALUES (?, ?, '', ?, ?, ?, 'tpl', 'ready', '', 8000, ?, ?, ?, ?)`,
			fmt.Sprintf("s%09d", n), guild, fmt.Sprintf("scene_%05d", n), name, name, persons, testUser, now, now); err != nil {
			b.Fatal(err)
		}
		owner, shared, cguild := otherUser, 0, "200000000000000009"
		switch {
		case n < 300:
			owner, cguild = testUser, testGuild
		case n < 4300:
			owner, shared, cguild = fmt.Sprintf("4000000000%08d", n), 1, testGuild
		}
		cname := fmt.Sprintf("char_%05d", n)
		if _, err := tx.Exec(`INSERT INTO characters (id, owner_id, guild_id, key_ref, viggle_id, name, name_key, shared, status,
			error, thumbnail_url, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, 'ready', '', '', ?, ?)`,
			fmt.Sprintf("c%09d", n), owner, cguild, fmt.Sprintf("char_v%05d", n), cname, cname, shared, now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
