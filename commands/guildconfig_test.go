package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/keyring"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// Keys of the fake Viggle account: the bot's shared one and a server's own.
const (
	cfgSharedKey = "sk-shared-0123456789abcdef"
	cfgGuildKey  = "sk-guild-SECRET-9876543210WXYZ"
	cfgManage    = "32" // Manage Server
)

// cfgEnv is the bot's router over a real store, a real engine that is not started (with a clock the
// test controls), the real keyring and the fake Viggle on loopback, which accepts both keys.
type cfgEnv struct {
	*handlerEnv
	fake  *viggletest.Server
	ring  *keyring.Ring
	clock *testkit.Clock
	n     int    // interactions sent by render and click
	last  string // the interaction id of the last render
}

type cfgOptions struct {
	noShared     bool // ALLOW_SHARED_KEY=false
	noEncryption bool // no BOT_ENCRYPTION_KEY
	owners       []string
}

func newCfgEnv(t *testing.T, o cfgOptions) *cfgEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dir, "bot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testkit.NewClock(time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC))
	eng, err := jobs.New(db, nil, quietNotifier{}, jobs.Options{Origin: store.OriginDiscord, RequireAck: true, WorkDir: filepath.Join(dir, "tmp"), Now: clock.Now, ViggleFor: noViggle})
	if err != nil {
		t.Fatal(err)
	}
	fake := viggletest.New(viggletest.WithAPIKeys(cfgSharedKey, cfgGuildKey), viggletest.WithCredits(750))
	u, stop, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	newClient := func(key string) (*viggle.Client, error) {
		return viggle.NewClient(key, viggle.WithBaseURL(u), viggle.WithRetryPolicy(viggle.RetryPolicy{
			MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Millisecond}))
	}
	shared, err := newClient(cfgSharedKey)
	if err != nil {
		t.Fatal(err)
	}
	ko := keyring.Options{Shared: shared, AllowShared: !o.noShared, NewClient: newClient}
	if !o.noEncryption {
		secret, err := keyring.ParseSecret(strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		if ko.Sealer, err = keyring.NewSealer(secret); err != nil {
			t.Fatal(err)
		}
	}
	ring := keyring.New(db, ko)
	cat := jobs.NewCatalog(db, shared, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: 300 * time.Millisecond})
	t.Cleanup(cat.Wait)
	r, logs := testRouter(t, eng, &Catalogued{DB: db, Catalog: cat, Credits: shared, Keys: ring}, o.owners, nil)
	r.now = clock.Now
	return &cfgEnv{handlerEnv: &handlerEnv{db: db, eng: eng, r: r, logs: logs}, fake: fake, ring: ring, clock: clock}
}

// cfg makes the interaction /config <path> (a subcommand, or "key set") with options (name, value
// pairs: a bool is a boolean option, an int an integer one).
func cfg(path string, kv ...any) func(map[string]any) {
	return func(d map[string]any) {
		opts := []any{}
		for k := 0; k+1 < len(kv); k += 2 {
			o := map[string]any{"name": kv[k], "type": 3, "value": kv[k+1]}
			switch kv[k+1].(type) {
			case bool:
				o["type"] = 5
			case int:
				o["type"] = 4
			}
			opts = append(opts, o)
		}
		names := strings.Fields(path)
		sub := map[string]any{"name": names[len(names)-1], "type": 1, "options": opts}
		if len(names) == 2 {
			sub = map[string]any{"name": names[0], "type": 2, "options": []any{sub}}
		}
		data := d["data"].(map[string]any)
		data["name"] = CmdConfig
		data["options"] = []any{sub}
	}
}

// config runs /config path as a member with Manage Server and returns its private answer.
func (e *cfgEnv) config(t *testing.T, path string, kv ...any) string {
	t.Helper()
	calls := e.run(t, nil, interaction(t, "scene_import", both(cfg(path, kv...), permissions(cfgManage))))
	if len(calls) != 1 {
		t.Fatalf("/config %s: calls %s, want one answer", path, resttest.Kinds(calls))
	}
	a := answer(t, calls[0])
	if a.Data == nil || a.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Fatalf("/config %s answered %s, want a private message", path, calls[0].Body)
	}
	return a.Data.Content
}

func (e *cfgEnv) settings(t *testing.T) *store.GuildSettings {
	t.Helper()
	s, err := e.db.GuildSettings(t.Context(), testGuild)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *cfgEnv) lastChange(t *testing.T) store.Change {
	t.Helper()
	list, err := e.db.RecentChanges(t.Context(), testGuild, 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("changes %v, %v", list, err)
	}
	return list[0]
}

// render sends a /render of its own interaction id (edit changes it further) and returns its calls.
func (e *cfgEnv) render(t *testing.T, edits ...func(map[string]any)) []resttest.Call {
	t.Helper()
	e.n++
	id := fmt.Sprintf("14510000000000%05d", e.n)
	e.last = id
	return e.run(t, nil, interaction(t, "render", func(d map[string]any) {
		d["id"] = id
		for _, ed := range edits {
			ed(d)
		}
	}))
}

// lastJob is the job of the last render (of any member).
func (e *cfgEnv) lastJob(t *testing.T) *store.Job {
	t.Helper()
	for _, owner := range []string{testUser, otherUser} {
		for _, j := range e.jobsOf(t, owner) {
			if j.InteractionID == e.last {
				return j
			}
		}
	}
	t.Fatalf("no job of interaction %s", e.last)
	return nil
}

// wantStarted checks that calls are a render's acknowledgement alone.
func wantStarted(t *testing.T, calls []resttest.Call) {
	t.Helper()
	if len(calls) != 1 || answer(t, calls[0]).Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("calls %s (%s), want the render's acknowledgement", resttest.Kinds(calls), bodies(calls))
	}
}

func bodies(calls []resttest.Call) string {
	var b []string
	for _, c := range calls {
		b = append(b, string(c.Body))
	}
	return strings.Join(b, "\n")
}

func TestConfigNeedsManageServer(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	for _, c := range []struct {
		path string
		kv   []any
	}{
		{"key set", []any{OptAPIKey, cfgGuildKey}}, {"key clear", nil},
		{SubLimits, []any{OptConcurrentPerUser, 1}}, {SubChannel, []any{OptChannel, "300000000000000009"}},
		{SubRole, []any{OptRole, "600000000000000001"}}, {SubDefaults, []any{OptFast, true}}, {SubView, nil},
		{SubCharacters, []any{OptApproval, true}}, {SubModlog, []any{OptChannel, "300000000000000009"}},
	} {
		// The interaction arrived (an admin overrode the command's permission): the router refuses it.
		calls := e.run(t, nil, interaction(t, "scene_import", cfg(c.path, c.kv...)))
		wantEphemeral(t, calls, "You need the Manage Server permission")
	}
	if s := e.settings(t); s.Limits != (store.Limits{}) || s.ChannelID != "" || s.RoleID != "" || s.DefaultFast || s.Approval || s.ModlogChannelID != "" {
		t.Errorf("a refused /config changed the settings: %+v", s)
	}
	if list, err := e.db.RecentChanges(t.Context(), testGuild, 10); err != nil || len(list) != 0 {
		t.Errorf("changes %v, %v", list, err)
	}
	if _, err := e.db.CurrentGuildKey(t.Context(), testGuild); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused key set stored a key (%v)", err)
	}
	if n := e.fake.Count("GET", "/api/credits"); n != 0 {
		t.Errorf("a refused key set asked Viggle %d times", n)
	}
	def := e.r.commands[CmdConfig+" "+GroupKey+" "+SubKeySet].Def
	if def == nil || def.DefaultMemberPermissions == nil || *def.DefaultMemberPermissions != discordgo.PermissionManageGuild {
		t.Errorf("/config's default permission is not Manage Server: %+v", def)
	}
}

func TestConfigSubcommandsAndTheirChanges(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	steps := []struct {
		path   string
		kv     []any
		answer string // in the answer
		change string // the change log's line
		check  func(s *store.GuildSettings) bool
	}{
		{SubLimits, []any{OptConcurrentPerUser, 2, OptCooldownSeconds, 30}, "2 at a time per member, no daily limit per member, cooldown 30s, no daily limit for the server",
			"limits: 2 at a time per member, cooldown 30s",
			func(s *store.GuildSettings) bool {
				return s.Limits == store.Limits{ConcurrentPerUser: 2, Cooldown: 30 * time.Second}
			}},
		{SubLimits, []any{OptRendersPerUserPerDay, 10, OptGuildRendersPerDay, 100}, "2 at a time per member, 10 a day per member, cooldown 30s, 100 a day for the server",
			"limits: 10 a day per member, 100 a day for the server",
			func(s *store.GuildSettings) bool {
				return s.Limits == store.Limits{ConcurrentPerUser: 2, RendersPerUserPerDay: 10, Cooldown: 30 * time.Second, GuildRendersPerDay: 100}
			}},
		{SubLimits, []any{OptCooldownSeconds, 0}, "no cooldown", "limits: no cooldown",
			func(s *store.GuildSettings) bool { return s.Limits.Cooldown == 0 && s.Limits.ConcurrentPerUser == 2 }},
		{SubChannel, []any{OptChannel, "300000000000000009"}, "only in <#300000000000000009>", "render channel: <#300000000000000009> only",
			func(s *store.GuildSettings) bool { return s.ChannelID == "300000000000000009" }},
		{SubChannel, nil, "any channel", "render channel: any channel",
			func(s *store.GuildSettings) bool { return s.ChannelID == "" }},
		{SubRole, []any{OptRole, "600000000000000001"}, "<@&600000000000000001>", "render role: members with <@&600000000000000001> only",
			func(s *store.GuildSettings) bool { return s.RoleID == "600000000000000001" }},
		{SubDefaults, []any{OptBackground, "transparent", OptFast, true}, "background transparent, fast on", "defaults: background transparent, fast on",
			func(s *store.GuildSettings) bool { return s.DefaultBackground == "transparent" && s.DefaultFast }},
		{SubDefaults, []any{OptFast, false}, "background transparent, fast off", "defaults: fast off",
			func(s *store.GuildSettings) bool { return s.DefaultBackground == "transparent" && !s.DefaultFast }},
		{SubCharacters, []any{OptApproval, true}, "approval is on", "",
			func(s *store.GuildSettings) bool { return s.Approval }},
		{SubModlog, []any{OptChannel, "300000000000000007"}, "", "",
			func(s *store.GuildSettings) bool { return s.ModlogChannelID == "300000000000000007" }},
	}
	for _, st := range steps {
		got := e.config(t, st.path, st.kv...)
		if !strings.Contains(got, st.answer) {
			t.Errorf("/config %s %v answered %q, want %q in it", st.path, st.kv, got, st.answer)
		}
		s := e.settings(t)
		if !st.check(s) {
			t.Errorf("after /config %s %v: settings %+v", st.path, st.kv, s)
		}
		c := e.lastChange(t)
		if c.ActorID != testUser || (st.change != "" && c.What != st.change) || c.What == "" {
			t.Errorf("after /config %s %v: change %+v, want %q by %s", st.path, st.kv, c, st.change, testUser)
		}
	}
	// Out of bounds: refused, nothing changed.
	if got := e.config(t, SubLimits, OptConcurrentPerUser, maxConcurrentLimit+1); !strings.Contains(got, "at most 100") || !strings.Contains(got, "Nothing was changed") {
		t.Errorf("out-of-bounds limit answered %q", got)
	}
	if s := e.settings(t); s.Limits.ConcurrentPerUser != 2 {
		t.Errorf("an out-of-bounds limit was saved: %+v", s.Limits)
	}
	// No option: the current value, no change row.
	before, _ := e.db.RecentChanges(t.Context(), testGuild, 50)
	if got := e.config(t, SubLimits); !strings.Contains(got, "Nothing was changed") || !strings.Contains(got, "2 at a time per member") {
		t.Errorf("/config limits alone answered %q", got)
	}
	if after, _ := e.db.RecentChanges(t.Context(), testGuild, 50); len(after) != len(before) {
		t.Errorf("/config limits alone logged a change")
	}

	// /config view: the settings and the last five changes, newest first.
	view := e.config(t, SubView)
	for _, want := range []string{"Viggle key: not set (renders use the bot's shared key)",
		"Limits: 2 at a time per member, 10 a day per member, no cooldown, 100 a day for the server",
		"Renders: in any channel, by members with <@&600000000000000001> only", "Defaults of /render: background transparent, fast off",
		"Character approval: on · moderation channel: <#300000000000000007>", "**Last changes**", "<@" + testUser + ">", "<t:"} {
		if !strings.Contains(view, want) {
			t.Errorf("/config view does not say %q:\n%s", want, view)
		}
	}
	if n := strings.Count(view, "<@"+testUser+">"); n != recentChanges {
		t.Errorf("/config view shows %d changes, want %d:\n%s", n, recentChanges, view)
	}
	if i, j := strings.Index(view, "render role:"), strings.Index(view, "defaults: background transparent"); i < 0 || j < 0 || j > i {
		t.Errorf("changes not newest first:\n%s", view)
	}
}

func TestConfigKeySetClearAndView(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	var seen []string // every answer, to check none has the key
	say := func(s string) string { seen = append(seen, s); return s }

	// A key Viggle refuses: said so, nothing stored, nothing logged.
	if got := say(e.config(t, "key set", OptAPIKey, "sk-not-an-account-key-1234")); !strings.Contains(got, "Viggle refused this key, so nothing was stored") {
		t.Errorf("refused key answered %q", got)
	}
	if _, err := e.db.CurrentGuildKey(t.Context(), testGuild); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused key was stored (%v)", err)
	}
	if list, _ := e.db.RecentChanges(t.Context(), testGuild, 5); len(list) != 0 {
		t.Errorf("a refused key logged %+v", list)
	}

	got := say(e.config(t, "key set", OptAPIKey, "  "+cfgGuildKey+"\n"))
	if !strings.Contains(got, "is set, ends with `…WXYZ`") || !strings.Contains(got, "not offered any more") {
		t.Errorf("key set answered %q", got)
	}
	gk, err := e.db.CurrentGuildKey(t.Context(), testGuild)
	if err != nil || gk.Last4 != "WXYZ" || gk.CreatedBy != testUser || bytes.Contains(gk.Sealed, []byte(cfgGuildKey)) {
		t.Fatalf("stored key %+v, %v", gk, err)
	}
	if c := e.lastChange(t); !strings.Contains(c.What, "…WXYZ") || strings.Contains(c.What, cfgGuildKey) {
		t.Errorf("change %+v", c)
	}
	// The same key again changes nothing (its scenes and characters stay offered).
	if got := say(e.config(t, "key set", OptAPIKey, cfgGuildKey)); !strings.Contains(got, "nothing changed") || strings.Contains(got, "not offered") {
		t.Errorf("the same key again answered %q", got)
	}
	if again, err := e.db.CurrentGuildKey(t.Context(), testGuild); err != nil || again.ID != gk.ID {
		t.Fatalf("the same key again made the row %+v (%v), want %s kept", again, err, gk.ID)
	}
	view := say(e.config(t, SubView))
	if !strings.Contains(view, "Viggle key: set (ends with …WXYZ)") {
		t.Errorf("/config view:\n%s", view)
	}

	// The server's renders use its key: the job records it; /credits reads its balance with it.
	wantStarted(t, e.render(t))
	if j := e.lastJob(t); j.KeyRef != gk.ID {
		t.Errorf("the render's key_ref %q, want the server's key %q", j.KeyRef, gk.ID)
	}
	calls := e.run(t, nil, interaction(t, "credits", permissions(cfgManage)))
	wantEphemeral(t, calls, "This server's Viggle account (its own key, /config key) has **750 credits** left")
	reqs := e.fake.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/api/credits" || last.Header.Get("Authorization") != "Bearer "+cfgGuildKey {
		t.Errorf("/credits asked %s with %q, want the server's key", last.Path, last.Header.Get("Authorization"))
	}

	// Clear: renders use the shared key again.
	if got := say(e.config(t, "key clear")); !strings.Contains(got, "key is removed") || !strings.Contains(got, "shared key") {
		t.Errorf("key clear answered %q", got)
	}
	if c := e.lastChange(t); c.What != "Viggle key cleared" {
		t.Errorf("change %+v", c)
	}
	if got := say(e.config(t, "key clear")); !strings.Contains(got, "had no Viggle key") {
		t.Errorf("second clear answered %q", got)
	}
	if view := say(e.config(t, SubView)); !strings.Contains(view, "Viggle key: not set (renders use the bot's shared key)") {
		t.Errorf("/config view after clear:\n%s", view)
	}
	wantStarted(t, e.render(t))
	if j := e.lastJob(t); j.KeyRef != "" {
		t.Errorf("a render after clear has key_ref %q, want the shared key", j.KeyRef)
	}

	// The key is in no answer and no log line.
	for _, s := range append(seen, e.logs.String()) {
		if strings.Contains(s, cfgGuildKey) || strings.Contains(s, "SECRET") {
			t.Fatalf("the key reached an answer or the log:\n%s", s)
		}
	}
}

func TestConfigKeySetWithoutEncryption(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{noEncryption: true})
	got := e.config(t, "key set", OptAPIKey, cfgGuildKey)
	if !strings.Contains(got, "BOT_ENCRYPTION_KEY") || !strings.Contains(got, "openssl rand -hex 32") || !strings.Contains(got, "Nothing was stored") {
		t.Errorf("key set without encryption answered %q", got)
	}
	if n := e.fake.Count("GET", "/api/credits"); n != 0 {
		t.Errorf("Viggle was asked %d times", n)
	}
	// A bot wired without a keyring says the same.
	e.r, e.logs = testRouter(t, e.eng, e.db, nil, nil)
	if got := e.config(t, "key set", OptAPIKey, cfgGuildKey); !strings.Contains(got, "openssl rand -hex 32") {
		t.Errorf("key set without a keyring answered %q", got)
	}
	if strings.Contains(e.logs.String(), cfgGuildKey) {
		t.Error("the key reached the log")
	}
}

func TestRenderRefusedWithoutAKeyWhenTheSharedOneIsNotAllowed(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{noShared: true})
	wantEphemeral(t, e.render(t), "This server has no Viggle key yet: an admin can add one with /config key set")
	if n := len(e.jobsOf(t, testUser)); n != 0 {
		t.Fatalf("a refused render made %d jobs", n)
	}
	if view := e.config(t, SubView); !strings.Contains(view, "not set — renders are refused (ALLOW_SHARED_KEY=false)") {
		t.Errorf("/config view:\n%s", view)
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_duo", "Duo"))), "no Viggle key yet")
	e.config(t, "key set", OptAPIKey, cfgGuildKey)
	wantStarted(t, e.render(t))
	if j := e.jobsOf(t, testUser); len(j) != 1 || j[0].KeyRef == "" {
		t.Fatalf("jobs %+v, want one with the server's key", j)
	}
}

func TestRenderChannelAndRoleGates(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	e.config(t, SubChannel, OptChannel, "300000000000000009")
	wantEphemeral(t, e.render(t), "Renders are made in <#300000000000000009> on this server")
	inChannel := func(d map[string]any) { d["channel_id"] = "300000000000000009" }
	wantStarted(t, e.render(t, inChannel))

	e.config(t, SubRole, OptRole, "600000000000000001")
	wantEphemeral(t, e.render(t, inChannel), "Only members with the <@&600000000000000001> role can render")
	// Order: the channel is named first.
	wantEphemeral(t, e.render(t), "Renders are made in <#300000000000000009>")
	withRole := func(d map[string]any) {
		d["member"].(map[string]any)["roles"] = []any{"600000000000000002", "600000000000000001"}
	}
	wantStarted(t, e.render(t, inChannel, withRole))
	if n := len(e.jobsOf(t, testUser)); n != 2 {
		t.Fatalf("%d jobs, want the 2 the gates let through", n)
	}

	// Retry and Re-render go through the same gates.
	failed := e.failedJob(t, store.StateFailed)
	click := func(id string, edits ...func(map[string]any)) []resttest.Call {
		e.n++
		return e.run(t, nil, interaction(t, "component", func(d map[string]any) {
			d["id"] = fmt.Sprintf("14520000000000%05d", e.n)
			customID(id)(d)
			for _, ed := range edits {
				ed(d)
			}
		}))
	}
	wantEphemeral(t, click("retry:"+failed.ID), "Renders are made in <#300000000000000009>")
	wantEphemeral(t, click("rerender:"+failed.ID, inChannel), "Only members with the <@&600000000000000001> role")
	wantStarted(t, click("rerender:"+failed.ID, inChannel, withRole))

	// Cleared: anywhere, anyone.
	e.config(t, SubChannel)
	e.config(t, SubRole)
	wantStarted(t, e.render(t))
}

func TestRenderUsesTheServerDefaults(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	e.config(t, SubDefaults, OptBackground, "transparent", OptFast, true)
	noFast := withOptions("", OptScene, "scene_demo", OptMap, "person_a=char_alice")
	wantStarted(t, e.render(t, noFast))
	j := e.lastJob(t)
	if j.Request.Background != "transparent" || !j.Request.Fast {
		t.Errorf("defaults not applied: %+v", j.Request)
	}
	// Options given win; a colour alone means solid.
	wantStarted(t, e.render(t, withOptions("", OptScene, "scene_demo", OptMap, "person_a=char_alice", OptFast, false, OptBGColor, "#00ff00")))
	j = e.lastJob(t)
	if j.Request.Background != "solid" || j.Request.BGColor != "0,255,0" || j.Request.Fast {
		t.Errorf("options given were not kept: %+v", j.Request)
	}
	wantStarted(t, e.render(t, withOptions("", OptScene, "scene_demo", OptMap, "person_a=char_alice", OptBackground, "original")))
	if j = e.lastJob(t); j.Request.Background != "original" || !j.Request.Fast {
		t.Errorf("background given was not kept: %+v", j.Request)
	}
}

func TestRenderLimitRefusals(t *testing.T) {
	midnight := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	t.Run("concurrent", func(t *testing.T) {
		e := newCfgEnv(t, cfgOptions{})
		e.config(t, SubLimits, OptConcurrentPerUser, 1)
		wantStarted(t, e.render(t))
		calls := e.render(t)
		wantEphemeral(t, calls, "You already have 1 render running on this server, its limit at a time: try again when one of your renders finishes.")
		wantEphemeral(t, calls, "Nothing was sent to Viggle and no credits were used.")
		// Another member is not limited by alice's renders.
		wantStarted(t, e.render(t, asUser(otherUser)))
	})
	t.Run("per member per day", func(t *testing.T) {
		e := newCfgEnv(t, cfgOptions{})
		e.config(t, SubLimits, OptRendersPerUserPerDay, 2)
		wantStarted(t, e.render(t))
		wantStarted(t, e.render(t))
		wantEphemeral(t, e.render(t), fmt.Sprintf("You have started 2 renders today, this server's daily limit per member: try again <t:%d:R> (days are UTC days).", midnight.Unix()))
		e.clock.Set(midnight) // a new UTC day
		wantStarted(t, e.render(t))
	})
	t.Run("cooldown", func(t *testing.T) {
		e := newCfgEnv(t, cfgOptions{})
		e.config(t, SubLimits, OptCooldownSeconds, 90)
		wantStarted(t, e.render(t))
		e.clock.Advance(30 * time.Second)
		wantEphemeral(t, e.render(t), fmt.Sprintf("This server asks members to wait 1m30s between two renders: try again <t:%d:R>.", e.clock.Now().Add(60*time.Second).Unix()))
	})
	t.Run("server per day", func(t *testing.T) {
		e := newCfgEnv(t, cfgOptions{})
		e.config(t, SubLimits, OptGuildRendersPerDay, 1)
		wantStarted(t, e.render(t))
		wantEphemeral(t, e.render(t, asUser(otherUser)), fmt.Sprintf("This server has started 1 render today, its daily limit for everyone: try again <t:%d:R>", midnight.Unix()))
	})
}

// TestDefinitionsFitDiscord registers the bot's commands with the fake Discord, which applies Discord's
// rules (names, lengths, option order and kinds, subcommand groups, sizes).
func TestDefinitionsFitDiscord(t *testing.T) {
	const token = "definitions.test.token"
	fake := discordtest.New(discordtest.WithToken(token))
	base, stop, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	s, err := discordtest.NewSession(base, token)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := s.ApplicationCommandBulkOverwrite(fake.AppID(), testGuild, Definitions(), discordgo.WithContext(ctx))
	if err != nil {
		t.Fatalf("Discord refused the definitions: %v", err)
	}
	if len(got) != len(Definitions()) {
		t.Fatalf("%d commands registered, want %d", len(got), len(Definitions()))
	}
}

// Retry and Re-render make a render again only in the job's own server, with the key it was made with,
// and with its characters checked again: a button in a DM (where a result may have been sent) or a
// job of another server would escape that server's rules, limits and key.
func TestRetryAndRerenderStayInTheirServer(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	click := func(id string, edits ...func(map[string]any)) []resttest.Call {
		e.n++
		return e.run(t, nil, interaction(t, "component", func(d map[string]any) {
			d["id"] = fmt.Sprintf("14530000000000%05d", e.n)
			customID(id)(d)
			for _, ed := range edits {
				ed(d)
			}
		}))
	}
	inDM := func(d map[string]any) {
		d["user"] = d["member"].(map[string]any)["user"]
		delete(d, "member")
		delete(d, "guild_id")
		d["context"] = 1
	}
	elsewhere := func(d map[string]any) { d["guild_id"] = "200000000000000099" }
	failed := e.failedJob(t, store.StateFailed)
	wantEphemeral(t, click("retry:"+failed.ID, inDM), "belongs to another server")
	wantEphemeral(t, click("rerender:"+failed.ID, inDM), "belongs to another server")
	wantEphemeral(t, click("rerender:"+failed.ID, elsewhere), "belongs to another server")
	if n := len(e.jobsOf(t, testUser)); n != 1 {
		t.Fatalf("%d jobs, want only the failed one", n)
	}

	// A character held for review since the job was made is refused again, by its Viggle id.
	held := insertCharacter(t, e.db, &store.Character{OwnerID: testUser, GuildID: testGuild, Name: "Held", Review: store.ReviewPending}, "x")
	wantEphemeral(t, click("rerender:"+failed.ID), "waiting for approval")
	// Approved, it may be used again; deleted, its id is withdrawn.
	if _, err := e.db.ReviewCharacter(t.Context(), held.ID, "mod", true, store.Change{What: "approved"}); err != nil {
		t.Fatal(err)
	}
	wantStarted(t, click("rerender:"+failed.ID))
	if err := e.db.DeleteCharacter(t.Context(), held.ID); err != nil {
		t.Fatal(err)
	}
	wantEphemeral(t, click("rerender:"+failed.ID), "was deleted")

	// The server's key changed: the job's scene and characters belong to the other account.
	e.config(t, "key set", OptAPIKey, cfgGuildKey)
	wantEphemeral(t, click("retry:"+failed.ID), "key changed")
	if n := len(e.jobsOf(t, testUser)); n != 2 {
		t.Fatalf("%d jobs, want the failed one and its one re-render", n)
	}
}

// With approval on, a member's character made in another server (which no moderator here reviewed) is
// refused, by name and by Viggle id; one made here after approval is fine.
func TestApprovalCannotBeBypassedFromAnotherServer(t *testing.T) {
	e := newCfgEnv(t, cfgOptions{})
	insertCharacter(t, e.db, &store.Character{OwnerID: testUser, GuildID: "200000000000000099", Name: "Elsewhere"}, "char_elsewhere")
	byName := withOptions("", OptScene, "scene_demo", OptMap, "person_a=elsewhere")
	byID := withOptions("", OptScene, "scene_demo", OptMap, "person_a=char_elsewhere")
	wantStarted(t, e.render(t, byName)) // approval off: usable anywhere
	e.config(t, SubCharacters, OptApproval, true)
	wantEphemeral(t, e.render(t, byName), "made in another server")
	wantEphemeral(t, e.render(t, byID), "made in another server")
}

// insertCharacter records c through the store API, then makes it ready with viggleID.
func insertCharacter(t *testing.T, db *store.DB, c *store.Character, viggleID string) *store.Character {
	t.Helper()
	if err := db.InsertCharacter(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.ViggleID, c.Status = viggleID, store.StatusReady
	if err := db.UpdateCharacter(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}
