package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// The operations server (HTTP_ADDR) of the real bot, wired as main wires it, against the fakes.

// opsAddr is the address the bot's ops server logged it listens on (HTTP_ADDR with its port chosen).
func (e *botEnv) opsAddr(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`msg="ops server listening" addr=(\S+)`)
	var addr string
	e.waitFor(t, "the ops server's address in the logs", func() bool {
		if m := re.FindStringSubmatch(e.logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}

// opsGet GETs path from the ops server and returns the status and body.
func opsGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// sample is the value of one series (name with its labels, as exposed) in a /metrics text; ok false
// when the series is absent.
func sample(text, series string) (v float64, ok bool) {
	for _, line := range strings.Split(text, "\n") {
		if rest, found := strings.CutPrefix(line, series+" "); found {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func TestBotMetricsAndHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const videoSize = 300 << 10
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3, VideoSize: videoSize}})
	e.vars["HTTP_ADDR"] = "127.0.0.1:0"
	e.start(t)
	addr := e.opsAddr(t)

	if code, body := opsGet(t, addr, "/livez"); code != 200 || body != "ok\n" {
		t.Fatalf("/livez: %d %q", code, body)
	}
	waitReady := func(what string, want int, prefix string) {
		t.Helper()
		var code int
		var body string
		e.waitFor(t, what, func() bool {
			code, body = opsGet(t, addr, "/readyz")
			return code == want && strings.HasPrefix(body, prefix)
		})
	}
	waitReady("/readyz 200 while connected", 200, "ready\n")

	// A render, with one Discord 429 on the way (discordgo waits and sends again).
	e.discord.FailNext("PATCH", "/webhooks/*/*/messages/@original", discordtest.Failure{RetryAfter: 0.05})
	i := e.command(t, alice, 25<<20, "render", map[string]any{"scene": "scene_ok", "map": "person_a=char_x"})
	if m := e.final(t, i); !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 {
		t.Fatalf("final message %q with %d attachments", m.Content, len(m.Attachments))
	}
	e.waitJob(t, alice, i, "the delivery to be recorded", func(j *store.Job) bool { return j.State == store.StateDelivered })

	var text string
	e.waitFor(t, "jobs{state=\"delivered\"} 1 in /metrics", func() bool { // counted at most every 5 s
		var code int
		code, text = opsGet(t, addr, "/metrics")
		v, ok := sample(text, `viggle_bot_jobs{state="delivered"}`)
		return code == 200 && ok && v == 1
	})
	for _, c := range []struct {
		series string
		want   func(float64) bool
		what   string
	}{
		{`viggle_bot_interactions_total{command="render",outcome="ok"}`, func(v float64) bool { return v == 1 }, "1"},
		{`viggle_bot_ack_latency_seconds_count`, func(v float64) bool { return v >= 1 }, "at least 1"},
		{`viggle_bot_viggle_requests_total{endpoint="POST /api/render",status="200"}`, func(v float64) bool { return v == 1 }, "1"},
		{`viggle_bot_viggle_requests_total{endpoint="GET /api/render/{id}",status="200"}`, func(v float64) bool { return v >= 3 }, "at least 3 (the polls)"},
		{`viggle_bot_delivered_bytes_total`, func(v float64) bool { return v == videoSize }, "the video's size"},
		{`viggle_bot_discord_rest_errors_total{code="http_429"}`, func(v float64) bool { return v == 1 }, "1"},
		{`viggle_bot_jobs{state="running"}`, func(v float64) bool { return v == 0 }, "0"},
		{`viggle_bot_queue_depth`, func(v float64) bool { return v >= 0 }, "present"},
	} {
		if v, ok := sample(text, c.series); !ok || !c.want(v) {
			t.Errorf("%s = %v (present %v), want %s", c.series, v, ok, c.what)
		}
	}
	for _, leak := range []string{i.ID, i.Token, discordToken, cliKey, alice} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics carries %.12s…", leak)
		}
	}

	t.Run("readyz follows the gateway", func(t *testing.T) {
		e.discord.SetGatewayFault(discordtest.GatewayDown)
		e.discord.DropConnections()
		waitReady("/readyz 503 once the gateway is gone", 503, "not ready: gateway: not connected to the Discord gateway\n")
		if code, _ := opsGet(t, addr, "/livez"); code != 200 {
			t.Fatalf("/livez %d while the gateway is down", code)
		}
		e.discord.SetGatewayFault(discordtest.GatewayUp)
		waitReady("/readyz 200 after the reconnect", 200, "ready\n")
	})

	t.Run("readyz follows the database", func(t *testing.T) {
		// Another connection holds SQLite's write lock (as another process could): the bot's
		// database takes no writes.
		tx, err := e.db(t).SQL().BeginTx(context.Background(), nil) // BEGIN IMMEDIATE
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		start := time.Now()
		code, body := opsGet(t, addr, "/readyz")
		if code != 503 || !strings.HasPrefix(body, "not ready: database: ") || strings.Count(body, "\n") != 1 {
			t.Fatalf("/readyz with the database locked: %d %q", code, body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("/readyz took %v with the database locked", d)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		waitReady("/readyz 200 once the database is writable again", 200, "ready\n")
	})
}

func TestBotWithoutHTTPAddrServesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, nil)
	e.start(t)
	if strings.Contains(e.logs.String(), "ops server") {
		t.Fatalf("an ops server without HTTP_ADDR:\n%s", e.logs.String())
	}
}

func TestBotHTTPAddrInUseExits2(t *testing.T) {
	e := newBotEnv(t, nil)
	taken, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	e.vars["HTTP_ADDR"] = taken.Addr().String()
	var stderr strings.Builder
	code := run(t.Context(), "viggle-bot", nil, env(e.vars), io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "HTTP_ADDR") {
		t.Fatalf("exit %d %q", code, stderr.String())
	}
	if n := e.discord.Sessions(); n != 0 {
		t.Fatalf("the bot connected (%d sessions) though its HTTP_ADDR was taken", n)
	}
}

// TestBotMetricsOverHTTPInteractions: in HTTP interactions mode (no gateway) /readyz is 200 once POST
// /interactions is served, and interactions received over HTTP are counted like the gateway's.
func TestBotMetricsOverHTTPInteractions(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 2, VideoSize: 100 << 10}})
	e.httpInteractions(t)
	e.vars["HTTP_ADDR"] = "127.0.0.1:0"
	e.runUntilCleanup(t)
	addr := e.opsAddr(t)
	e.waitFor(t, "/readyz 200 once POST /interactions is served", func() bool {
		code, body := opsGet(t, addr, "/readyz")
		return code == 200 && body == "ready\n"
	})
	e.waitFor(t, "commands registered", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })
	i := e.command(t, alice, 25<<20, "render", map[string]any{"scene": "scene_ok", "map": "person_a=char_x"})
	e.final(t, i)
	e.waitJob(t, alice, i, "the delivery recorded", func(j *store.Job) bool { return j.State == store.StateDelivered })
	_, text := opsGet(t, addr, "/metrics")
	for series, want := range map[string]float64{
		`viggle_bot_interactions_total{command="render",outcome="ok"}`: 1,
		`viggle_bot_ack_latency_seconds_count`:                         1,
		`viggle_bot_delivered_bytes_total`:                             100 << 10,
	} {
		if v, ok := sample(text, series); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}
