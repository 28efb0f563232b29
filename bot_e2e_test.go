package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// End-to-end: the real bot, wired as main wires it (run with no arguments), against the fake Discord
// (REST and gateway) and the fake Viggle, over loopback.

const (
	discordToken = "MTAwMDAwMDAwMDAwMDAwMDAx.fake-DISCORD-SECRET-token"
	guildID      = "200000000000000001"
	channelID    = "300000000000000001"
	alice        = "400000000000000001"
	bob          = "400000000000000002"
)

type botEnv struct {
	discord *discordtest.Server
	viggle  *viggletest.Server
	vars    map[string]string
	logs    *testkit.SyncBuffer
	store   *store.DB // the test's own handle on the bot's database (see jobs)
}

// newBotEnv starts the fakes; opts add to the fake Discord's options.
func newBotEnv(t *testing.T, scenes map[string]viggletest.Scenario, opts ...discordtest.Option) *botEnv {
	t.Helper()
	e := &botEnv{logs: &testkit.SyncBuffer{}}
	var du, vu string
	e.discord, du = startDiscord(t, opts...)
	e.viggle, vu = startViggle(t, viggletest.WithAPIKey(cliKey), viggletest.WithScenarios(scenes))
	e.vars = map[string]string{
		"DISCORD_TOKEN": discordToken, "DISCORD_API_URL": du, "DISCORD_GUILD_ID": guildID,
		"VIGGLE_API_URL": vu, "VIGGLE_API_KEY": cliKey, "VIGGLE_POLL_INTERVAL": "20ms",
		"DATABASE_PATH": filepath.Join(t.TempDir(), "data", "bot.db"), "LOG_LEVEL": "debug",
	}
	t.Cleanup(func() {
		e.checkSecrets(t)
		if e.store != nil {
			e.store.Close()
		}
	})
	return e
}

// start runs the bot in-process until the test ends, and waits until it is connected with its
// commands registered.
func (e *botEnv) start(t *testing.T) {
	t.Helper()
	e.runUntilCleanup(t)
	ctx := t.Context()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if err := e.discord.WaitReady(rctx); err != nil {
		t.Fatalf("bot never connected: %v\n%s", err, e.logs.String())
	}
	e.waitFor(t, "commands registered", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })
}

func (e *botEnv) checkSecrets(t *testing.T) {
	e.checkLogs(t, "the bot's logs", e.logs.String())
}

// checkLogs fails the test if logs carry a secret: the bot token, the Viggle key or any interaction
// token the fake Discord handed out.
func (e *botEnv) checkLogs(t *testing.T, whose, logs string) {
	t.Helper()
	for _, s := range append([]string{discordToken, cliKey, "fake-DISCORD-SECRET"}, e.discord.Tokens()...) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%.12s…) reached %s", s, whose)
		}
	}
}

// waitFor waits until cond holds, re-checking on every change the fake Discord records.
func (e *botEnv) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond) // the job row and the fake Viggle change too
	defer tick.Stop()
	for !cond() {
		select {
		case <-e.discord.Changed():
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, e.logs.String())
		}
	}
}

func (e *botEnv) command(t *testing.T, user string, limit int64, name string, opts map[string]any) *discordtest.Interaction {
	t.Helper()
	i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{
		Name: name, Options: opts, GuildID: guildID, ChannelID: channelID, UserID: user, Username: "user" + user[len(user)-1:],
		AttachmentSizeLimit: limit,
	})
	if err != nil {
		t.Fatalf("send /%s: %v", name, err)
	}
	return i
}

// final waits until the interaction's message shows one of the final titles and returns it.
func (e *botEnv) final(t *testing.T, i *discordtest.Interaction) *discordtest.Message {
	t.Helper()
	var m *discordtest.Message
	e.waitFor(t, "the final message", func() bool {
		msg, ok := e.discord.Original(i.ID)
		if !ok {
			return false
		}
		for _, title := range []string{"**Done!**", "**Render failed**", "**Cancelled**", "**Interrupted**"} {
			if strings.HasPrefix(msg.Content, title) {
				m = msg
				return true
			}
		}
		return false
	})
	return m
}

func (e *botEnv) callbackTypes(i *discordtest.Interaction) []int {
	var types []int
	for _, r := range e.discord.Callbacks(i.ID) {
		var cb struct {
			Type int `json:"type"`
			Data struct {
				Flags int `json:"flags"`
			} `json:"data"`
		}
		json.Unmarshal(r.JSON, &cb)
		types = append(types, cb.Type*1000+cb.Data.Flags)
	}
	return types
}

func videoOf(t *testing.T, size int64) []byte {
	t.Helper()
	b, err := io.ReadAll(viggletest.Video(size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBotEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_ok":        {Polls: 3, VideoSize: 300 << 10},
		"scene_big":       {Polls: 2, VideoSize: 12 << 20},
		"scene_fail":      {Polls: 2, FailCode: "CS-UORC01-009", FailMessage: "Rendering failed: could not track a person"},
		"scene_nocredits": {SubmitStatus: 402, SubmitCode: "CS-UORC01-008", SubmitMessage: "Insufficient credits"},
	})
	e.start(t)

	t.Run("registration", func(t *testing.T) {
		var names []string
		for _, raw := range e.discord.Commands(guildID) {
			var c struct {
				Name    string `json:"name"`
				Options []struct {
					Name string `json:"name"`
				} `json:"options"`
			}
			json.Unmarshal(raw, &c)
			var opts []string
			for _, o := range c.Options {
				opts = append(opts, o.Name)
			}
			names = append(names, c.Name+"("+strings.Join(opts, ",")+")")
		}
		got := strings.Join(names, " ")
		const want = "render(scene,map,background,bg_color,fast,model) jobs(status) job(id) " +
			"scene(import,list,remove) character(create,list,delete,share) credits() " +
			"config(key,limits,channel,role,defaults,view,characters,modlog) stats()"
		if got != want {
			t.Fatalf("registered %s", got)
		}
	})

	t.Run("render delivers the video as an attachment", func(t *testing.T) {
		posts := e.viggle.Creates()
		i := e.command(t, alice, 25<<20, "render", map[string]any{"scene": "scene_ok", "map": "person_a=char_x, person_b = char_x"})
		m := e.final(t, i)
		if !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 {
			t.Fatalf("final message %q with %d attachments", m.Content, len(m.Attachments))
		}
		a := m.Attachments[0]
		if !bytes.Equal(a.Data, videoOf(t, 300<<10)) || !strings.HasSuffix(a.Name, ".mp4") {
			t.Fatalf("attachment %s: %d bytes, not the rendered video", a.Name, len(a.Data))
		}
		if got := e.callbackTypes(i); len(got) != 1 || got[0] != 5000 {
			t.Fatalf("callbacks %v, want one deferred (type 5) non-ephemeral", got)
		}
		if n := e.viggle.Creates() - posts; n != 1 {
			t.Fatalf("%d POSTs", n)
		}
		// A partial map with one character on two persons: exactly the pairs given.
		var post viggletest.Request
		for _, r := range e.viggle.Requests() {
			if r.Method == "POST" {
				post = r
			}
		}
		var mapping map[string]string
		if err := json.Unmarshal([]byte(post.Form.Get("character_mapping")), &mapping); err != nil ||
			len(mapping) != 2 || mapping["person_a"] != "char_x" || mapping["person_b"] != "char_x" {
			t.Fatalf("character_mapping %q", post.Form.Get("character_mapping"))
		}
	})

	t.Run("invalid input is refused ephemerally without a POST", func(t *testing.T) {
		posts := e.viggle.Creates()
		for _, opts := range []map[string]any{
			{"scene": "scene_ok", "map": "person_a"},
			{"scene": "scene_ok", "map": "a=char_x, a=char_y"},
			{"scene": "scene_ok", "map": "a=char_x", "background": "original", "bg_color": "1,2,3"},
			{"scene": "scene_ok", "map": "a=char_x", "bg_color": "red"},
			{"scene": `scene"ok`, "map": "a=char_x"},
		} {
			i := e.command(t, alice, 0, "render", opts)
			e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(i.ID)) == 1 })
			if got := e.callbackTypes(i); got[0] != 4064 {
				t.Fatalf("%v: callback %v, want type 4 with flags 64", opts, got)
			}
		}
		if n := e.viggle.Creates() - posts; n != 0 {
			t.Fatalf("bad input made %d POSTs", n)
		}
	})

	t.Run("a Viggle failure is shown with its code", func(t *testing.T) {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_fail", "map": "a=char_x"})
		m := e.final(t, i)
		if !strings.Contains(m.Content, "CS-UORC01-009") || !strings.Contains(m.Content, "could not track") || !strings.Contains(m.Content, "Viggle job") {
			t.Fatalf("failure message: %q", m.Content)
		}
	})

	t.Run("no credits at submit", func(t *testing.T) {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_nocredits", "map": "a=char_x"})
		m := e.final(t, i)
		if !strings.Contains(m.Content, "CS-UORC01-008") || !strings.Contains(m.Content, "credits") {
			t.Fatalf("no-credits message: %q", m.Content)
		}
	})

	t.Run("a video over the upload limit is delivered as a link", func(t *testing.T) {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_big", "map": "a=char_x"}) // no limit sent: 10 MiB
		m := e.final(t, i)
		if len(m.Attachments) != 0 || !strings.Contains(m.Content, "/cdn/") {
			t.Fatalf("big video: %d attachments, content %q", len(m.Attachments), m.Content)
		}
	})

	t.Run("a refused acknowledgement sends nothing to Viggle", func(t *testing.T) {
		posts := e.viggle.Creates()
		i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{Name: "render", LateAck: true,
			Options: map[string]any{"scene": "scene_ok", "map": "a=char_x"}, GuildID: guildID, ChannelID: channelID, UserID: bob})
		if err != nil {
			t.Fatal(err)
		}
		e.waitJob(t, bob, i, "the job to be closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })
		if n := e.viggle.Creates() - posts; n != 0 {
			t.Fatalf("%d POSTs after a refused acknowledgement", n)
		}
	})

	t.Run("an acknowledgement that fails otherwise sends nothing either", func(t *testing.T) {
		posts := e.viggle.Creates()
		e.discord.FailNext("POST", "/interactions/*/*/callback", discordtest.Failure{Status: 500, Message: "Internal Server Error"})
		i := e.command(t, bob, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_y"})
		e.waitJob(t, bob, i, "the job to be closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })
		if n := e.viggle.Creates() - posts; n != 0 {
			t.Fatalf("%d POSTs after a failed acknowledgement", n)
		}
	})

	t.Run("/jobs shows a member their own jobs only", func(t *testing.T) {
		ib := e.command(t, bob, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_bobs"})
		e.final(t, ib)
		ia := e.command(t, alice, 0, "jobs", nil)
		e.waitFor(t, "the list", func() bool { return len(e.discord.Callbacks(ia.ID)) == 1 })
		var cb struct {
			Type int `json:"type"`
			Data struct {
				Content string `json:"content"`
				Flags   int    `json:"flags"`
			} `json:"data"`
		}
		json.Unmarshal(e.discord.Callbacks(ia.ID)[0].JSON, &cb)
		if cb.Type != 4 || cb.Data.Flags&64 == 0 {
			t.Fatalf("/jobs answered type %d flags %d, want an ephemeral message", cb.Type, cb.Data.Flags)
		}
		if !strings.Contains(cb.Data.Content, "scene_fail") || !strings.Contains(cb.Data.Content, "scene_ok") {
			t.Fatalf("alice's list misses her jobs:\n%s", cb.Data.Content)
		}
		for _, j := range e.jobs(t, bob) {
			if strings.Contains(cb.Data.Content, j.ID) {
				t.Fatalf("alice's list shows bob's job %s:\n%s", j.ID, cb.Data.Content)
			}
		}
	})
}

// jobs lists an owner's jobs in the test guild, newest first, from the bot's database (opened once
// per test, beside the bot's own connection).
func (e *botEnv) jobs(t *testing.T, owner string) []*store.Job {
	t.Helper()
	list, err := e.db(t).ListByOwner(context.Background(), store.ListFilter{Origin: store.OriginDiscord, GuildID: guildID, OwnerID: owner, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// db is the test's handle on the bot's database, opened on first use.
func (e *botEnv) db(t *testing.T) *store.DB {
	t.Helper()
	if e.store == nil {
		db, err := store.Open(context.Background(), e.vars["DATABASE_PATH"], nil)
		if err != nil {
			t.Fatal(err)
		}
		e.store = db // closed by newBotEnv's cleanup: subtests share it
	}
	return e.store
}

// waitJob waits until the owner's job of interaction i satisfies ok, and returns it.
func (e *botEnv) waitJob(t *testing.T, owner string, i *discordtest.Interaction, what string, ok func(*store.Job) bool) *store.Job {
	t.Helper()
	var found *store.Job
	e.waitFor(t, what, func() bool {
		for _, j := range e.jobs(t, owner) {
			if j.InteractionID == i.ID && ok(j) {
				found = j
				return true
			}
		}
		return false
	})
	return found
}

// childBot starts the bot as a separate process (this test binary, see TestMain) on the env's
// database and fakes; it is killed when the test ends, and its logs are checked for secrets.
func (e *botEnv) childBot(t *testing.T) (*exec.Cmd, *testkit.SyncBuffer) {
	t.Helper()
	return e.childBotWith(t, nil)
}

// childBotWith is childBot with extra variables over the env's (a shard's SHARD_ID, a database URL).
func (e *botEnv) childBotWith(t *testing.T, extra map[string]string) (*exec.Cmd, *testkit.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VB_BOT_CHILD=1")
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		e.checkLogs(t, "a child bot's logs", logs.String())
		if t.Failed() {
			t.Logf("child bot logs:\n%s", logs.String())
		}
	})
	return cmd, logs
}

// uploadsOnceDelivered waits until the job of interaction i is delivered (after which nothing more is
// sent for it) and the fake has recorded its upload, then counts the uploads since request n.
func (e *botEnv) uploadsOnceDelivered(t *testing.T, owner string, i *discordtest.Interaction, since int) int {
	t.Helper()
	e.waitJob(t, owner, i, "the delivery to be recorded", func(j *store.Job) bool { return j.State == store.StateDelivered })
	uploads := 0
	e.waitFor(t, "the upload to be recorded by the fake", func() bool {
		uploads = 0
		for _, r := range e.discord.Requests()[since:] {
			if len(r.Files) > 0 && r.Status < 300 {
				uploads++
			}
		}
		return uploads > 0
	})
	return uploads
}

func TestBotWithoutTokenExplainsItself(t *testing.T) {
	code, msg := runCLI(t, t.Context(), map[string]string{"VIGGLE_API_URL": "mock"}, nil)
	if code != 2 || !strings.Contains(msg, "DISCORD_TOKEN") || !strings.Contains(msg, "render") {
		t.Fatalf("exit %d %q", code, msg)
	}
}

func TestBotRefusedTokenExits1(t *testing.T) {
	d := discordtest.New(discordtest.WithToken("the-right-token"))
	trackDiscord(d)
	u, stop, err := d.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	code, msg := runCLI(t, t.Context(), map[string]string{
		"DISCORD_TOKEN": "a-wrong-token", "DISCORD_API_URL": u, "VIGGLE_API_URL": "mock",
		"DATABASE_PATH": filepath.Join(t.TempDir(), "bot.db"),
	}, nil)
	if code != 1 || !strings.Contains(msg, "DISCORD_TOKEN") || strings.Contains(msg, "a-wrong-token") {
		t.Fatalf("exit %d %q", code, msg)
	}
}

// TestMain lets the test binary run as the bot itself, for the restart test.
func TestMain(m *testing.M) {
	if os.Getenv("VB_BOT_CHILD") == "1" {
		// As main: SIGINT and SIGTERM end the context (the shutdown test sends SIGTERM).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, "viggle-bot", nil, os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(discordConformance(m.Run()))
}

func TestBotRestartMidRenderDeliversOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_long": {Polls: 40, Steps: 10, VideoSize: 100 << 10}})
	e.vars["VIGGLE_POLL_INTERVAL"] = "50ms"
	sessions := e.discord.Sessions()
	first, logs1 := e.childBot(t)
	e.waitFor(t, "the first bot to connect", func() bool { return e.discord.Sessions() > sessions })
	e.waitFor(t, "commands registered", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })
	rctx, rcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer rcancel()
	if err := e.discord.WaitReady(rctx); err != nil {
		t.Fatalf("first bot not ready: %v\n%s", err, logs1.String())
	}
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_long", "map": "person_a=char_x"})
	e.waitFor(t, "polling", func() bool { return e.viggle.Count("GET", "/api/render/") >= 3 })
	if err := first.Process.Kill(); err != nil { // SIGKILL in the middle of the render
		t.Fatal(err)
	}
	first.Wait()
	sessions = e.discord.Sessions()
	e.childBot(t)
	e.waitFor(t, "the second bot to connect", func() bool { return e.discord.Sessions() > sessions })
	m := e.final(t, i)
	if !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, videoOf(t, 100<<10)) {
		t.Fatalf("after the restart: %q with %d attachments", m.Content, len(m.Attachments))
	}
	if n := e.viggle.Creates(); n != 1 {
		t.Fatalf("%d POSTs across the restart, want 1", n)
	}
	if n := e.uploadsOnceDelivered(t, alice, i, 0); n != 1 {
		t.Fatalf("%d uploads, want exactly one delivery", n)
	}
}
