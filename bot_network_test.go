package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// HTTP interactions and sharding, end to end: the bot wired as main wires it, against the fakes.

// freeAddr returns a loopback address with a port free a moment ago (INTERACTIONS_ADDR must be known
// to the fake Discord before the bot listens there).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// httpInteractions sets the bot up for HTTP interactions (INTERACTIONS_ADDR on a free loopback port,
// DISCORD_PUBLIC_KEY of a new key pair) and the fake Discord to POST there signed, and returns the URL.
func (e *botEnv) httpInteractions(t *testing.T) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	url := "http://" + addr + "/interactions"
	e.vars["INTERACTIONS_ADDR"] = addr
	e.vars["DISCORD_PUBLIC_KEY"] = hex.EncodeToString(pub)
	e.discord.SetInteractionsEndpoint(url, priv)
	return url
}

// runUntilCleanup runs the bot in-process until the test ends, expecting a clean exit.
func (e *botEnv) runUntilCleanup(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, "viggle-bot", nil, env(e.vars), io.Discard, e.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("bot exited %d after shutdown; logs:\n%s", code, e.logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("bot did not stop")
		}
	})
}

// TestBotHTTPInteractions: with INTERACTIONS_ADDR and DISCORD_PUBLIC_KEY the bot opens no gateway
// session, registers its commands, answers Discord's PING, and a /render received as a signed POST
// is acknowledged in the HTTP answer and delivered (progress edits and the upload over REST, as in
// gateway mode); /jobs is answered in the HTTP body too; unsigned and badly signed requests get 401.
func TestBotHTTPInteractions(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3, VideoSize: 200 << 10}})
	url := e.httpInteractions(t)
	e.runUntilCleanup(t)
	// Commands are registered once the server listens.
	e.waitFor(t, "commands registered", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })

	ping, err := e.discord.SendPing(t.Context())
	if err != nil || ping.HTTPStatus != 200 || e.discord.Acknowledged(ping.ID) != 1 {
		t.Fatalf("PING: %v %+v", err, ping)
	}

	i := e.command(t, alice, 25<<20, "render", map[string]any{"scene": "scene_ok", "map": "person_a=char_x"})
	m := e.final(t, i)
	if !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, videoOf(t, 200<<10)) {
		t.Fatalf("final message %q with %d attachments", m.Content, len(m.Attachments))
	}
	if got := e.callbackTypes(i); len(got) != 1 || got[0] != 5000 || i.HTTPStatus != 200 {
		t.Errorf("answers %v (HTTP %d), want one public deferral (type 5) in the HTTP body", got, i.HTTPStatus)
	}
	e.waitJob(t, alice, i, "the delivery recorded", func(j *store.Job) bool { return j.State == store.StateDelivered })

	jobs := e.command(t, alice, 0, "jobs", nil)
	if got := e.callbackTypes(jobs); len(got) != 1 || got[0] != 4064 {
		t.Errorf("/jobs answered %v, want one ephemeral message (type 4, flags 64) in the HTTP body", got)
	}
	if msg, ok := e.discord.Original(jobs.ID); !ok || !strings.Contains(msg.Content+embedText(msg), "scene_ok") {
		t.Errorf("/jobs shows %+v", msg)
	}

	if n := len(e.discord.Find(http.MethodPost, "/interactions/*/*/callback")); n != 0 {
		t.Errorf("%d callbacks POSTed; the first answers belong in the HTTP bodies", n)
	}
	if n := e.discord.GatewayAttempts() + len(e.discord.Find(http.MethodGet, "/gateway")) + len(e.discord.Find(http.MethodGet, "/gateway/bot")); n != 0 {
		t.Errorf("%d gateway connections or discoveries in HTTP mode", n)
	}

	_, other, _ := ed25519.GenerateKey(nil)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for name, sig := range map[string]string{"unsigned": "", "another key": discordtest.Signature(other, ts, i.Payload)} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(i.Payload))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Signature-Timestamp", ts)
			req.Header.Set("X-Signature-Ed25519", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	if n := len(e.jobs(t, alice)); n != 1 {
		t.Errorf("%d jobs after the refused requests, want 1", n)
	}
}

// embedText is a message's embeds as text (for lists shown in embeds).
func embedText(m *discordtest.Message) string {
	b, _ := json.Marshal(m.Embeds)
	return string(b)
}

// TestBotShardResumesOnlyItsGuilds: the process of shard 1 of 2 (SHARD_ID=1, SHARD_COUNT=2)
// identifies as [1, 2] and, of the jobs a crash left in submitting in a guild of each shard, closes
// only its own guild's as interrupted; shard 0's is left to shard 0, unleased.
func TestBotShardResumesOnlyItsGuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	g1 := strconv.FormatUint(uint64(47683715821)<<22|1, 10) // (id >> 22) is odd: shard 1 of 2
	if (uint64(200000000000000001)>>22)%2 != 0 {
		t.Fatal("the test guild is not of shard 0")
	}
	e := newBotEnv(t, nil, discordtest.WithGuild(g1))
	e.vars["SHARD_ID"], e.vars["SHARD_COUNT"] = "1", "2"
	db := e.db(t)
	at := time.Now().Add(-time.Minute)
	ids := map[string]string{guildID: "shard0job0", g1: "shard1job0"}
	for _, g := range []string{guildID, g1} { // shard 0's first: an engine without the filter would take it first
		j := &store.Job{ID: ids[g], Origin: store.OriginDiscord, OwnerID: alice, GuildID: g, ChannelID: e.discord.DefaultChannel(g),
			InteractionID: "ix-" + ids[g], InteractionToken: "tok-" + ids[g], TokenExpiresAt: at.Add(15 * time.Minute),
			State: store.StateSubmitting, CreatedAt: at, UpdatedAt: at, AcknowledgedAt: at,
			Request: spec.Request{SceneID: "scene_ok", Mapping: []spec.Pair{{Person: "a", Character: "char_x"}}}}
		if err := db.Insert(t.Context(), j); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
	}
	e.runUntilCleanup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := e.discord.WaitShardReady(ctx, 1, 2); err != nil {
		t.Fatalf("shard 1 never connected: %v\n%s", err, e.logs.String())
	}
	var identify struct {
		Shard []int `json:"shard"`
	}
	if ids := e.discord.Identifies(); len(ids) != 1 || json.Unmarshal(ids[0], &identify) != nil || len(identify.Shard) != 2 || identify.Shard[0] != 1 || identify.Shard[1] != 2 {
		t.Errorf("IDENTIFY shard %v, want [1 2]", identify.Shard)
	}
	e.waitFor(t, "shard 1's job interrupted", func() bool {
		j, err := db.Get(t.Context(), ids[g1])
		return err == nil && j.State == store.StateInterrupted
	})
	j, err := db.Get(t.Context(), ids[guildID])
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.StateSubmitting || j.LeaseOwner != "" {
		t.Errorf("shard 0's job: %s, lease %q; want it left alone", j.State, j.LeaseOwner)
	}
	if n := len(e.viggle.Requests()); n != 0 {
		t.Errorf("%d requests to Viggle (a job in submitting is never sent again)", n)
	}
}
