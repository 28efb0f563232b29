package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// Issue 10 end to end: a server brings its own Viggle key and caps what its members may spend.

const (
	guildB      = "222222222222222222"
	channelB    = "222222222222222223"
	guildKeyA   = "sk-GUILD-A-secret-wxyz"
	encryptHex  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	admin       = "333333333333333333"
	renderRole  = "444444444444444444"
	otherMember = "555555555555555555"
)

// adminPerms are a member's default permissions plus Manage Server.
var adminPerms = strconv.FormatInt(discordgo.PermissionViewChannel|discordgo.PermissionSendMessages|
	discordgo.PermissionUseApplicationCommands|discordgo.PermissionManageGuild, 10)

// newCommunityEnv is a bot in two servers (guildID and guildB) whose fake Viggle accepts the shared key
// and guild A's own key, with BOT_ENCRYPTION_KEY set.
func newCommunityEnv(t *testing.T, scenes map[string]viggletest.Scenario, vars map[string]string) *botEnv {
	t.Helper()
	e := &botEnv{logs: &testkit.SyncBuffer{}}
	var du, vu string
	e.discord, du = startDiscord(t, discordtest.WithGuild(guildB), discordtest.WithLenientCommands()) // commands are registered in guildID only
	e.viggle, vu = startViggle(t, viggletest.WithAPIKeys(cliKey, guildKeyA), viggletest.WithScenarios(scenes))
	e.vars = map[string]string{
		"DISCORD_TOKEN": discordToken, "DISCORD_API_URL": du, "DISCORD_GUILD_ID": guildID,
		"VIGGLE_API_URL": vu, "VIGGLE_API_KEY": cliKey, "VIGGLE_POLL_INTERVAL": "20ms",
		"DATABASE_PATH": filepath.Join(t.TempDir(), "data", "bot.db"), "LOG_LEVEL": "debug",
		"BOT_ENCRYPTION_KEY": encryptHex,
	}
	for k, v := range vars {
		e.vars[k] = v
	}
	t.Cleanup(func() {
		e.checkLogs(t, "the bot's logs", e.logs.String())
		for _, s := range []string{guildKeyA, encryptHex} {
			if strings.Contains(e.logs.String(), s) {
				t.Errorf("a secret (%.8s…) reached the bot's logs", s)
			}
		}
		if e.store != nil {
			e.store.Close()
		}
	})
	return e
}

// as sends a command as user in guild/channel with the given permissions and roles ("" and nil: a
// plain member's).
func (e *botEnv) as(t *testing.T, user, guild, channel, perms string, roles []string, name string, opts map[string]any) *discordtest.Interaction {
	t.Helper()
	i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{Name: name, Options: opts, GuildID: guild,
		ChannelID: channel, UserID: user, MemberPermissions: perms, MemberRoles: roles})
	if err != nil {
		t.Fatalf("send /%s: %v", name, err)
	}
	return i
}

// reply waits for the answer to i (immediate or deferred then edited) and returns its text and whether
// it is ephemeral.
func (e *botEnv) reply(t *testing.T, i *discordtest.Interaction) (string, bool) {
	t.Helper()
	var text string
	e.waitFor(t, "the answer", func() bool {
		if m, ok := e.discord.Original(i.ID); ok && !m.Loading() && len(e.discord.Callbacks(i.ID)) > 0 {
			text = m.Content
			return true
		}
		return false
	})
	types := e.callbackTypes(i)
	return text, len(types) > 0 && (types[0]%1000)&64 != 0
}

// bearers returns the Authorization header of every Viggle request from index from on, by method and
// path prefix.
func (e *botEnv) bearers(from int, method, prefix string) []string {
	var out []string
	for _, r := range e.viggle.Requests()[from:] {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r.Header.Get("Authorization"))
		}
	}
	return out
}

func allAre(list []string, want string) bool {
	for _, s := range list {
		if s != want {
			return false
		}
	}
	return len(list) > 0
}

func TestBotGuildKeyUsedForItsGuildOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newCommunityEnv(t, map[string]viggletest.Scenario{"scene_x": {Polls: 2, VideoSize: 32 << 10}}, nil)
	e.start(t)

	// A member without Manage Server is refused /config even though Discord delivered the command (an
	// admin may have opened the command to everyone): nothing reaches Viggle, nothing is stored.
	before := len(e.viggle.Requests())
	i := e.as(t, otherMember, guildID, channelID, "", nil, "config", map[string]any{"key": map[string]any{"set": map[string]any{"key": guildKeyA}}})
	if text, eph := e.reply(t, i); !eph || !strings.Contains(text, "Manage Server") {
		t.Fatalf("/config by a plain member: %q (ephemeral %v), want an ephemeral refusal naming Manage Server", text, eph)
	}
	if n := len(e.viggle.Requests()) - before; n != 0 {
		t.Fatalf("a refused /config made %d Viggle requests", n)
	}

	// The admin sets guild A's key: validated with GET /api/credits, shown only by its last four.
	i = e.as(t, admin, guildID, channelID, adminPerms, nil, "config", map[string]any{"key": map[string]any{"set": map[string]any{"key": guildKeyA}}})
	text, eph := e.reply(t, i)
	if !eph || strings.Contains(text, guildKeyA) || !strings.Contains(text, guildKeyA[len(guildKeyA)-4:]) {
		t.Fatalf("/config key set answered %q (ephemeral %v), want an ephemeral reply with only the last four", text, eph)
	}
	if got := e.bearers(before, "GET", "/api/credits"); !allAre(got, "Bearer "+guildKeyA) {
		t.Fatalf("the key was validated with %v", got)
	}

	// The key is nowhere in the database files in clear.
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.vars["DATABASE_PATH"] + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(guildKeyA)) || bytes.Contains(b, []byte(guildKeyA[3:])) {
			t.Fatalf("the key is in clear in the database file%s", suffix)
		}
	}

	// A render in guild A uses its key for every call; one in guild B the shared key.
	before = len(e.viggle.Requests())
	r := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_x", "map": "person_a=char_alice"})
	if m := e.final(t, r); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("guild A's render: %q", m.Content)
	}
	if got := e.bearers(before, "POST", "/api/render"); len(got) != 1 || got[0] != "Bearer "+guildKeyA {
		t.Fatalf("guild A's render was sent with %v", got)
	}
	if got := e.bearers(before, "GET", "/api/render/"); !allAre(got, "Bearer "+guildKeyA) {
		t.Fatalf("guild A's polls were sent with %v", got)
	}
	j := e.waitJob(t, alice, r, "guild A's job", func(j *store.Job) bool { return j.State == store.StateDelivered })
	if j.KeyRef == "" {
		t.Fatalf("guild A's job records no key: %+v", j)
	}

	before = len(e.viggle.Requests())
	rb := e.as(t, alice, guildB, channelB, "", nil, "render", map[string]any{"scene": "scene_x", "map": "person_a=char_alice"})
	if m := e.final(t, rb); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("guild B's render: %q", m.Content)
	}
	if got := e.bearers(before, "POST", "/api/render"); len(got) != 1 || got[0] != "Bearer "+cliKey {
		t.Fatalf("guild B's render was sent with %v, want the shared key", got)
	}
	if got := e.bearers(before, "GET", "/api/render/"); !allAre(got, "Bearer "+cliKey) {
		t.Fatalf("guild B's polls were sent with %v, want the shared key", got)
	}

	// /config view shows the key only by its end, and the change in the log.
	i = e.as(t, admin, guildID, channelID, adminPerms, nil, "config", map[string]any{"view": map[string]any{}})
	if text, _ := e.reply(t, i); strings.Contains(text, guildKeyA) || !strings.Contains(text, guildKeyA[len(guildKeyA)-4:]) ||
		!strings.Contains(text, "<@"+admin+">") {
		t.Fatalf("/config view:\n%s", text)
	}
}

func TestBotConcurrentLimitHoldsUnderABurst(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// Renders that stay running for the whole test.
	e := newCommunityEnv(t, map[string]viggletest.Scenario{"scene_long": {Duration: time.Hour}}, nil)
	e.start(t)
	i := e.as(t, admin, guildID, channelID, adminPerms, nil, "config", map[string]any{"limits": map[string]any{
		"concurrent_per_user": 2, "renders_per_user_per_day": 0, "cooldown_seconds": 0, "guild_renders_per_day": 0}})
	text, _ := e.reply(t, i)
	if s, err := e.db(t).GuildSettings(t.Context(), guildID); err != nil || s.Limits != (store.Limits{ConcurrentPerUser: 2}) {
		t.Fatalf("/config limits answered %q; settings %+v (%v)", text, s, err)
	}

	cmds := make([]discordtest.SlashCommand, 100)
	for k := range cmds {
		cmds[k] = discordtest.SlashCommand{Name: "render", Options: map[string]any{"scene": "scene_long", "map": "person_a=char_alice"},
			GuildID: guildID, ChannelID: channelID, UserID: alice}
	}
	is, err := e.discord.SendCommands(t.Context(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	refused, taken := 0, 0
	for _, it := range is {
		e.waitFor(t, "every answer", func() bool { return len(e.discord.Callbacks(it.ID)) > 0 })
		switch types := e.callbackTypes(it); types[0] {
		case 4064:
			refused++
			if c := callbackContent(t, e, it); !strings.Contains(c, "You already have 2 renders running") || !strings.Contains(c, "when one of your renders finishes") {
				t.Errorf("a refusal says %q: it should name the limit and when to try again", c)
			}
		case 5000: // deferred, public
			taken++
		default:
			t.Errorf("callback %v", types)
		}
	}
	e.waitFor(t, "both renders submitted", func() bool { return e.viggle.Creates() >= 2 })
	if taken != 2 || refused != 98 {
		t.Fatalf("%d renders taken and %d refused, want 2 and 98", taken, refused)
	}
	jobs := e.jobs(t, alice)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs recorded, want 2", len(jobs))
	}
	e.waitFor(t, "both running", func() bool {
		for _, j := range e.jobs(t, alice) {
			if j.State != store.StateRunning {
				return false
			}
		}
		return true
	})
	if n := e.viggle.Creates(); n != 2 {
		t.Fatalf("%d POSTs to Viggle, want 2", n)
	}
}

func TestBotGatesAndOwners(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newCommunityEnv(t, map[string]viggletest.Scenario{"scene_x": {Polls: 1, VideoSize: 16 << 10}},
		map[string]string{"ALLOW_SHARED_KEY": "false", "BOT_OWNER_IDS": admin})
	e.start(t)
	render := func(user, guild, channel string, roles []string) *discordtest.Interaction {
		return e.as(t, user, guild, channel, "", roles, "render", map[string]any{"scene": "scene_x", "map": "person_a=char_alice"})
	}
	refusal := func(i *discordtest.Interaction, says string) {
		t.Helper()
		e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(i.ID)) > 0 })
		if got := e.callbackTypes(i); got[0] != 4064 || !strings.Contains(callbackContent(t, e, i), says) {
			t.Fatalf("callback %v %q, want an ephemeral refusal saying %q", got, callbackContent(t, e, i), says)
		}
	}

	// Without its own key, and with the shared key not allowed, a server's renders are refused, and the
	// refusal tells admins what to do.
	refusal(render(alice, guildB, channelB, nil), "/config key set")

	// Guild A brings its key, then keeps renders to one channel and one role.
	for _, opts := range []map[string]any{
		{"key": map[string]any{"set": map[string]any{"key": guildKeyA}}},
		{"channel": map[string]any{"channel": channelID}},
		{"role": map[string]any{"role": renderRole}},
	} {
		i := e.as(t, admin, guildID, channelID, adminPerms, nil, "config", opts)
		if text, eph := e.reply(t, i); !eph || text == "" {
			t.Fatalf("/config %v: %q", opts, text)
		}
	}
	other := "111111111111111119"
	refusal(render(alice, guildID, other, []string{renderRole}), "<#"+channelID+">")
	refusal(render(alice, guildID, channelID, nil), "<@&"+renderRole+">")
	if n := e.viggle.Creates(); n != 0 {
		t.Fatalf("refused renders made %d POSTs", n)
	}
	if m := e.final(t, render(alice, guildID, channelID, []string{renderRole})); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("a render past the gates: %q", m.Content)
	}

	// /stats is for the bot's owners only.
	refusal(e.as(t, alice, guildID, channelID, adminPerms, nil, "stats", nil), "owner")
	i := e.as(t, admin, guildID, channelID, "", nil, "stats", nil)
	if text, eph := e.reply(t, i); !eph || !strings.Contains(text, guildID) {
		t.Fatalf("/stats for an owner: %q (ephemeral %v)", text, eph)
	}
}
