package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/pgtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// Several bot processes on one PostgreSQL database (issue 12), each a child process (this test binary,
// see TestMain), against the in-process fakes of Discord and Viggle.

// procBot starts a bot process (childBotWith) on e's fakes with e.vars plus extra, DATABASE_URL, and a
// DATABASE_PATH folder of its own (for temporary downloads).
func (e *botEnv) procBot(t *testing.T, databaseURL string, extra map[string]string) (*exec.Cmd, *testkit.SyncBuffer) {
	t.Helper()
	vars := map[string]string{"DATABASE_URL": databaseURL, "DATABASE_PATH": filepath.Join(t.TempDir(), "data", "bot.db")}
	for k, v := range extra {
		vars[k] = v
	}
	return e.childBotWith(t, vars)
}

// openShared opens the test's own handle on the processes' PostgreSQL database.
func openShared(t *testing.T, databaseURL string) *store.DB {
	t.Helper()
	db, err := store.OpenPostgres(t.Context(), databaseURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitLong waits up to d for cond, polling; the processes write the database and the fakes.
func waitLong(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// shardGuild returns a guild id of shard `shard` of 2 ((id >> 22) % 2 == shard), distinct for each n.
func shardGuild(shard, n int) string {
	return strconv.FormatUint(uint64(47683715820+2*n+shard)<<22|uint64(n+1), 10)
}

// TestMultiProcessRendersOnceEach: three bot processes share one PostgreSQL database, two shards of two
// plus a spare (a second process of shard 0: the fake Discord sends each interaction of a guild to one
// open connection of its shard, so shard 0's renders are taken by either, and both resume and rescue
// shard 0's jobs). 300 renders in four guilds of both shards, in two waves; between them the process
// of shard 1 is SIGKILLed with its renders still running at Viggle, and a new process of shard 1 is
// started, which takes them over (the dead holder's leases, on this machine, at once; elsewhere after
// the lease time). Every render is POSTed to Viggle once and delivered once.
func TestMultiProcessRendersOnceEach(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dbURL := pgtest.Database(t)
	guilds := []string{shardGuild(0, 0), shardGuild(0, 1), shardGuild(1, 2), shardGuild(1, 3)}
	for i, g := range guilds {
		if got := discordtest.ShardOf(g, 2); got != i/2 {
			t.Fatalf("guild %s is of shard %d, want %d", g, got, i/2)
		}
	}
	opts := []discordtest.Option{discordtest.WithShards(2)}
	for _, g := range guilds {
		opts = append(opts, discordtest.WithGuild(g))
	}
	// Renders that poll a few times (long enough to be running when shard 1's process is killed), tiny videos.
	// The first wave's renders stay running at Viggle until shard 1's jobs have been taken over (so that
	// the kill never lands in a delivery, which the next process would send again: a crash may repeat
	// an upload it interrupted), then finish; the second wave's finish after a few polls. Tiny videos.
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_hold": {Stuck: true}, "scene_mp": {Polls: 4, VideoSize: 2 << 10}}, opts...)
	delete(e.vars, "DISCORD_GUILD_ID") // global commands: every guild has them
	e.vars["VIGGLE_MAX_RPS"] = "1000"
	e.vars["LOG_LEVEL"] = "info"
	db := openShared(t, dbURL)
	start := time.Now()

	shard := func(id string) map[string]string { return map[string]string{"SHARD_ID": id, "SHARD_COUNT": "2"} }
	e.procBot(t, dbURL, shard("0"))
	e.procBot(t, dbURL, shard("0")) // the spare
	first1, _ := e.procBot(t, dbURL, shard("1"))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, s := range []int{0, 1} {
		if err := e.discord.WaitShardReady(ctx, s, 2); err != nil {
			t.Fatalf("shard %d never connected: %v", s, err)
		}
	}
	waitLong(t, 30*time.Second, "commands registered", func() bool { return len(e.discord.Commands("")) > 0 })

	var sent []*discordtest.Interaction
	wave := func(n int, scene string) {
		t.Helper()
		for k := range n {
			g := guilds[len(sent)%len(guilds)]
			i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{
				Name: "render", Options: map[string]any{"scene": scene, "map": "person_a=char_" + strconv.Itoa(k%7)},
				GuildID: g, UserID: []string{alice, bob}[k%2], Username: "member", // the guild's first channel
			})
			if err != nil {
				t.Fatalf("send render %d: %v", len(sent), err)
			}
			sent = append(sent, i)
		}
	}
	states := func() map[store.State]int {
		c, err := db.CountByState(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wave(150, "scene_hold")
	waitLong(t, 60*time.Second, "the first 150 renders submitted and running", func() bool {
		return e.viggle.Creates() >= 150 && states()[store.StateRunning] == 150
	})
	killedRunning := 0
	for _, i := range sent {
		if discordtest.ShardOf(i.GuildID, 2) == 1 {
			killedRunning++
		}
	}
	deadPid := "/" + strconv.Itoa(first1.Process.Pid) + "/"
	if err := first1.Process.Kill(); err != nil { // SIGKILL, renders of shard 1 still running at Viggle
		t.Fatal(err)
	}
	first1.Wait()
	killedAt := time.Now()
	sessions := e.discord.Sessions()
	e.procBot(t, dbURL, shard("1"))
	waitLong(t, 30*time.Second, "the new process of shard 1 connected", func() bool { return e.discord.Sessions() > sessions })
	if err := e.discord.WaitShardReady(ctx, 1, 2); err != nil {
		t.Fatalf("shard 1 never reconnected: %v", err)
	}
	// The new process takes over the dead one's jobs at once (the holder is a dead pid of this machine),
	// well within the lease time.
	held := func() int {
		n := 0
		for _, owner := range []string{alice, bob} {
			for _, g := range guilds {
				list, err := db.ListByOwner(t.Context(), store.ListFilter{Origin: store.OriginDiscord, GuildID: g, OwnerID: owner, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range list {
					if strings.Contains(j.LeaseOwner, deadPid) {
						n++
					}
				}
			}
		}
		return n
	}
	waitLong(t, 20*time.Second, "the dead process's jobs taken over", func() bool { return held() == 0 })
	takeover := time.Since(killedAt)
	e.viggle.SetScenario("scene_hold", viggletest.Scenario{Polls: 1, VideoSize: 2 << 10}) // done at the next poll
	wave(150, "scene_mp")

	waitLong(t, 90*time.Second, "all 300 renders delivered", func() bool { return states()[store.StateDelivered] == 300 })
	if n := e.viggle.Creates(); n != 300 {
		t.Errorf("Viggle got %d render POSTs, want 300 (one per render)", n)
	}
	// One job per interaction, each with its own Viggle job: no render was sent twice.
	viggleIDs := map[string]bool{}
	for _, i := range sent {
		var found *store.Job
		for _, owner := range []string{alice, bob} {
			list, err := db.ListByOwner(t.Context(), store.ListFilter{Origin: store.OriginDiscord, GuildID: i.GuildID, OwnerID: owner, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range list {
				if j.InteractionID == i.ID {
					found = j
				}
			}
		}
		switch {
		case found == nil:
			t.Errorf("interaction %s (guild %s) has no job", i.ID, i.GuildID)
		case found.State != store.StateDelivered || found.ViggleJobID == "" || viggleIDs[found.ViggleJobID]:
			t.Errorf("job %s: %s, Viggle job %q (seen before: %v)", found.ID, found.State, found.ViggleJobID, viggleIDs[found.ViggleJobID])
		default:
			viggleIDs[found.ViggleJobID] = true
		}
	}
	// Delivered once: one upload of each job's video (small enough to attach, named after its job).
	uploads, perFile := 0, map[string]int{}
	for _, r := range e.discord.Requests() {
		if len(r.Files) > 0 && r.Status < 300 {
			uploads++
			for _, f := range r.Files {
				perFile[f.Name]++
			}
		}
	}
	if uploads != 300 || len(perFile) != 300 {
		t.Errorf("%d uploads of %d files to Discord, want 300 of 300 (one per render)", uploads, len(perFile))
	}
	for name, n := range perFile {
		if n != 1 {
			t.Errorf("%s uploaded %d times", name, n)
		}
	}
	t.Logf("300 renders over 3 processes (one SIGKILLed with %d renders of its shard running, taken over in %s), %d POSTs, %d uploads, in %s",
		killedRunning, takeover.Round(time.Millisecond), e.viggle.Creates(), uploads, time.Since(start).Round(time.Millisecond))
}

// TestMultiProcessConcurrentLimit: two bot processes on one PostgreSQL database serve HTTP interactions
// behind a round-robin proxy (as a load balancer would); one member's 100 simultaneous /render clicks
// with concurrent_per_user=2 reach both processes, and exactly 2 renders are submitted.
func TestMultiProcessConcurrentLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dbURL := pgtest.Database(t)
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_long": {Duration: time.Hour}}, discordtest.WithLenientCommands())
	db := openShared(t, dbURL)
	if _, err := db.UpdateGuildSettings(t.Context(), guildID, store.Change{ActorID: alice, What: "limits set by the test"},
		func(s *store.GuildSettings) { s.Limits.ConcurrentPerUser = 2 }); err != nil {
		t.Fatal(err)
	}
	front := e.httpInteractions(t) // the proxy listens here; the processes on ports of their own
	var backends []*url.URL
	var ready []string
	for range 2 {
		addr := freeAddr(t)
		u, _ := url.Parse("http://" + addr + "/interactions")
		backends = append(backends, u)
		ready = append(ready, u.String())
		e.procBot(t, dbURL, map[string]string{"INTERACTIONS_ADDR": addr})
	}
	var served [2]atomic.Int64
	var turn atomic.Int64
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		k := int(turn.Add(1)) % 2
		r.SetURL(&url.URL{Scheme: "http", Host: backends[k].Host})
		r.Out.URL.Path = backends[k].Path
	}, ModifyResponse: func(resp *http.Response) error {
		for k, b := range backends {
			if resp.Request.URL.Host == b.Host {
				served[k].Add(1)
			}
		}
		return nil
	}}
	fu, _ := url.Parse(front)
	srv := &http.Server{Addr: fu.Host, Handler: proxy}
	ln, err := net.Listen("tcp", fu.Host)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// Both processes answer (a PING through each, straight to its port).
	for _, u := range ready {
		waitLong(t, 30*time.Second, "a bot process serving "+u, func() bool {
			resp, err := http.Post(u, "application/json", strings.NewReader(`{"type":1}`))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusUnauthorized // up, and checking signatures
		})
	}

	var wg sync.WaitGroup
	is := make([]*discordtest.Interaction, 100)
	for k := range is {
		wg.Go(func() {
			i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{Name: "render",
				Options: map[string]any{"scene": "scene_long", "map": "person_a=char_alice"},
				GuildID: guildID, ChannelID: channelID, UserID: alice})
			if err != nil {
				t.Errorf("click %d: %v", k, err)
			}
			is[k] = i
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	refused, taken := 0, 0
	for _, it := range is {
		waitLong(t, 30*time.Second, "every answer", func() bool { return len(e.discord.Callbacks(it.ID)) > 0 })
		switch types := e.callbackTypes(it); types[0] {
		case 4064:
			refused++
			if c := callbackContent(t, e, it); !strings.Contains(c, "You already have 2 renders running") {
				t.Errorf("a refusal says %q: it should name the limit", c)
			}
		case 5000:
			taken++
		default:
			t.Errorf("callback %v", types)
		}
	}
	waitLong(t, 30*time.Second, "both renders submitted", func() bool { return e.viggle.Creates() >= 2 })
	if taken != 2 || refused != 98 {
		t.Fatalf("%d renders taken and %d refused, want 2 and 98", taken, refused)
	}
	if n := e.viggle.Creates(); n != 2 {
		t.Errorf("%d render POSTs to Viggle, want 2", n)
	}
	if served[0].Load() < 30 || served[1].Load() < 30 {
		t.Errorf("the clicks were not spread over both processes: %d and %d", served[0].Load(), served[1].Load())
	}
	t.Logf("100 clicks: %d and %d answered by each process, %d taken, %d refused", served[0].Load(), served[1].Load(), taken, refused)
}
