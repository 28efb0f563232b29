package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
)

// guildOfShard returns a guild id (a snowflake) of shard id among count.
func guildOfShard(id, count int, n uint64) string {
	base := uint64(1_000_000_000)
	for x := base + n*uint64(count); ; x++ {
		if int(x%uint64(count)) == id {
			return strconv.FormatUint(x<<22|7, 10)
		}
	}
}

func TestShardOf(t *testing.T) {
	for _, tc := range []struct {
		guild string
		count int
		want  int
	}{
		{"", 4, 0},
		{"not a snowflake", 4, 0},
		{"81384788765712384", 1, 0},
		{"81384788765712384", 2, int((uint64(81384788765712384) >> 22) % 2)},
		{"81384788765712384", 16, int((uint64(81384788765712384) >> 22) % 16)},
		{guildOfShard(3, 5, 0), 5, 3},
		{guildOfShard(1, 2, 9), 2, 1},
	} {
		if got := ShardOf(tc.guild, tc.count); got != tc.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.guild, tc.count, got, tc.want)
		}
		if got := discordtest.ShardOf(tc.guild, tc.count); got != tc.want {
			t.Errorf("the fake's ShardOf(%q, %d) = %d, want %d", tc.guild, tc.count, got, tc.want)
		}
	}
}

// identifyShard returns the shard field of the last IDENTIFY (nil when absent).
func identifyShard(t *testing.T, fake *discordtest.Server) []int {
	t.Helper()
	ids := fake.Identifies()
	if len(ids) == 0 {
		t.Fatal("no IDENTIFY")
	}
	var d struct {
		Shard []int `json:"shard"`
	}
	if err := json.Unmarshal(ids[len(ids)-1], &d); err != nil {
		t.Fatal(err)
	}
	return d.Shard
}

// TestRunShards: SHARD_ID/SHARD_COUNT given are identified as [id, count] without asking Discord;
// unset, the count comes from GET /gateway/bot (shard 0 of it, said loudly when it is more than one);
// the fake then tells each shard of its own guilds only, and OwnsGuild follows (guild_id >> 22) % n.
func TestRunShards(t *testing.T) {
	g0, g1 := guildOfShard(0, 2, 1), guildOfShard(1, 2, 1)
	for _, tc := range []struct {
		name              string
		recommended       int
		id, count         int
		wantShard         []int // the IDENTIFY's shard field
		wantID, wantCount int
		wantDiscovery     bool // GET /gateway/bot
		loud              bool
	}{
		{name: "given", recommended: 1, id: 1, count: 2, wantShard: []int{1, 2}, wantID: 1, wantCount: 2},
		{name: "auto, one shard", recommended: 1, wantID: 0, wantCount: 1, wantDiscovery: true},
		{name: "auto, three shards", recommended: 3, wantShard: []int{0, 3}, wantID: 0, wantCount: 3, wantDiscovery: true, loud: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, base := startDiscord(t, discordtest.WithShards(tc.recommended), discordtest.WithLenientCommands(), discordtest.WithGuild(g0), discordtest.WithGuild(g1))
			log, logs := testLogger()
			b, err := New(Config{Token: testBotToken, APIURL: base, Logger: log, ShardID: tc.id, ShardCount: tc.count}, nopHandler)
			if err != nil {
				t.Fatal(err)
			}
			stop := startRun(t, b)
			select {
			case <-b.Ready():
			case <-time.After(10 * time.Second):
				t.Fatalf("not ready:\n%s", logs.String())
			}
			if id, count := b.Shard(); id != tc.wantID || count != tc.wantCount {
				t.Errorf("Shard = %d, %d; want %d, %d", id, count, tc.wantID, tc.wantCount)
			}
			got := identifyShard(t, fake)
			if len(got) != len(tc.wantShard) || (len(got) == 2 && (got[0] != tc.wantShard[0] || got[1] != tc.wantShard[1])) {
				t.Errorf("IDENTIFY shard %v, want %v", got, tc.wantShard)
			}
			if n := len(fake.Find(http.MethodGet, "/gateway/bot")); (n == 1) != tc.wantDiscovery || n > 1 {
				t.Errorf("%d GET /gateway/bot", n)
			}
			if loud := strings.Contains(logs.String(), "level=ERROR") && strings.Contains(logs.String(), "SHARD_COUNT=3"); loud != tc.loud {
				t.Errorf("loud about running one shard of several: %v, want %v:\n%s", loud, tc.loud, logs.String())
			}
			for _, g := range []string{g0, g1, ""} {
				want := ShardOf(g, tc.wantCount) == tc.wantID
				if b.OwnsGuild(g) != want {
					t.Errorf("OwnsGuild(%q) = %v, want %v", g, !want, want)
				}
			}
			// The fake dispatches a guild's interaction to its shard only.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := fake.WaitShardReady(ctx, tc.wantID, tc.wantCount); err != nil {
				t.Fatal(err)
			}
			_, err = fake.SendCommand(ctx, discordtest.SlashCommand{Name: "x", GuildID: g1})
			if owns := b.OwnsGuild(g1); (err == nil) != owns || (!owns && !errors.Is(err, discordtest.ErrNoGateway)) {
				t.Errorf("a command in guild %s (ours: %v) dispatched: %v", g1, owns, err)
			}
			if err := stop(); err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	if _, err := New(Config{Token: "x", ShardID: 2, ShardCount: 2}, nopHandler); err == nil {
		t.Error("New accepted shard 2 of 2")
	}
}
