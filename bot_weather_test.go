package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// The bot in bad weather: late results, Cancel and Retry, /jobs paging.

var jobIDInText = regexp.MustCompile("job `([a-z0-9]+)`")

// jobID reads the bot's job id off the interaction's message.
func (e *botEnv) jobID(t *testing.T, i *discordtest.Interaction) string {
	t.Helper()
	var id string
	e.waitFor(t, "the job id on the message", func() bool {
		m, ok := e.discord.Original(i.ID)
		if !ok {
			return false
		}
		if g := jobIDInText.FindStringSubmatch(m.Content); g != nil {
			id = g[1]
			return true
		}
		return false
	})
	return id
}

// channelPost waits for the bot's message in the channel (or DM) and returns it.
func (e *botEnv) channelPost(t *testing.T, channel string) discordtest.Message {
	t.Helper()
	var m discordtest.Message
	e.waitFor(t, "a message in the channel", func() bool {
		msgs := e.botPosts(channel)
		if len(msgs) == 0 {
			return false
		}
		m = msgs[len(msgs)-1]
		return strings.Contains(m.Content, "**Done!**") || strings.Contains(m.Content, "**Render failed**")
	})
	return m
}

// botPosts are the messages the bot posted itself in a channel (not interaction responses).
func (e *botEnv) botPosts(channel string) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range e.discord.ChannelMessages(channel) {
		if m.InteractionID == "" && m.WebhookID == "" {
			out = append(out, m)
		}
	}
	return out
}

func onlyMentions(t *testing.T, m discordtest.Message, user string) {
	t.Helper()
	var am struct {
		Parse []string `json:"parse"`
		Users []string `json:"users"`
	}
	if err := json.Unmarshal(m.AllowedMentions, &am); err != nil {
		t.Fatalf("allowed_mentions %s: %v", m.AllowedMentions, err)
	}
	if len(am.Parse) != 0 || len(am.Users) != 1 || am.Users[0] != user || !strings.Contains(m.Content, "<@"+user+">") {
		t.Fatalf("message %q may mention %s, want only the owner %s", m.Content, m.AllowedMentions, user)
	}
}

func (e *botEnv) state(t *testing.T, id string) *store.Job {
	t.Helper()
	j, err := e.db(t).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestBotLateResults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 12, Steps: 4, VideoSize: 64 << 10}})
	e.start(t)

	t.Run("an expired token sends the result to the channel, mentioning the owner only", func(t *testing.T) {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
		e.jobID(t, i) // running, and the message shows it
		e.discord.ExpireToken(i.Token)
		m := e.channelPost(t, channelID)
		onlyMentions(t, m, alice)
		if len(m.Attachments) != 1 || !bytes.Equal(m.Attachments[0].Data, videoOf(t, 64<<10)) || m.Nonce == "" {
			t.Fatalf("channel post: %d attachments, nonce %q; want the video once, with a nonce", len(m.Attachments), m.Nonce)
		}
	})

	t.Run("a channel that refuses the bot gets a DM instead", func(t *testing.T) {
		i := e.command(t, bob, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
		e.jobID(t, i)
		e.discord.FailNext("POST", "/channels/*/messages", discordtest.Failure{Status: 403, Code: 50013, Message: "Missing Permissions"})
		e.discord.ExpireToken(i.Token)
		e.waitFor(t, "a DM channel", func() bool { return e.discord.DMChannel(bob) != "" })
		m := e.channelPost(t, e.discord.DMChannel(bob))
		if len(m.Attachments) != 1 {
			t.Fatalf("DM without the video: %q", m.Content)
		}
	})

	t.Run("when the DM is refused too the job is undeliverable and /jobs shows its link", func(t *testing.T) {
		const carol = "400000000000000003"
		e.discord.BlockDMs(carol)
		i := e.command(t, carol, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
		id := e.jobID(t, i)
		e.discord.FailNext("POST", "/channels/*/messages", discordtest.Failure{Status: 403, Code: 50013, Message: "Missing Permissions"})
		e.discord.ExpireToken(i.Token)
		e.waitFor(t, "undeliverable", func() bool { return e.state(t, id).State == store.StateUndeliverable })
		l := e.command(t, carol, 0, "jobs", map[string]any{"status": "done"})
		e.waitFor(t, "the list", func() bool { return len(e.discord.Callbacks(l.ID)) == 1 })
		content := callbackContent(t, e, l)
		if !strings.Contains(content, id) || !strings.Contains(content, "not delivered") || !strings.Contains(content, "/cdn/") {
			t.Fatalf("/jobs for an undeliverable job:\n%s", content)
		}
	})

	t.Run("a 429 on the edit is waited out and the video delivered once", func(t *testing.T) {
		before := len(e.discord.Requests())
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
		e.jobID(t, i)
		e.discord.FailNext("PATCH", "/webhooks/*/*/messages/@original", discordtest.Failure{RetryAfter: 0.05})
		m := e.final(t, i)
		if len(m.Attachments) != 1 {
			t.Fatalf("final: %q", m.Content)
		}
		if n := e.uploadsOnceDelivered(t, alice, i, before); n != 1 {
			t.Fatalf("%d successful uploads, want 1", n)
		}
	})
}

func callbackContent(t *testing.T, e *botEnv, i *discordtest.Interaction) string {
	t.Helper()
	var cb struct {
		Data struct {
			Content string `json:"content"`
		} `json:"data"`
	}
	if err := json.Unmarshal(e.discord.Callbacks(i.ID)[0].JSON, &cb); err != nil {
		t.Fatal(err)
	}
	return cb.Data.Content
}

func TestBotFourteenMinuteSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// The test's clock: interactions are created 14 min 10 s in the past, so their tokens have 50 s left.
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 15, Steps: 4}},
		discordtest.WithClock(func() time.Time { return time.Now().Add(-14*time.Minute - 10*time.Second) }))
	e.start(t)
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
	e.waitFor(t, "the last edit", func() bool {
		m, ok := e.discord.Original(i.ID)
		return ok && strings.Contains(m.Content, "Still rendering") && strings.Contains(m.Content, "post the result here")
	})
	m := e.channelPost(t, channelID)
	onlyMentions(t, m, alice)
	if orig, _ := e.discord.Original(i.ID); strings.Contains(orig.Content, "**Done!**") {
		t.Fatal("the result was edited into a message whose token was about to die")
	}
}

func TestBotCancelAndRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_stuck": {Stuck: true},
		"scene_fail":  {Polls: 2, FailCode: "CS-UORC01-009", FailMessage: "Rendering failed"},
	})
	e.start(t)
	click := func(user, messageID, customID string) *discordtest.Interaction {
		t.Helper()
		c, err := e.discord.SendComponent(t.Context(), discordtest.Component{CustomID: customID, MessageID: messageID,
			GuildID: guildID, ChannelID: channelID, UserID: user})
		if err != nil {
			t.Fatalf("click %s: %v", customID, err)
		}
		return c
	}

	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_stuck", "map": "a=char_x"})
	id := e.jobID(t, i)
	e.waitFor(t, "running", func() bool { return e.state(t, id).State == store.StateRunning })
	orig, _ := e.discord.Original(i.ID)

	c := click(bob, orig.ID, "cancel:"+id)
	e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(c.ID)) == 1 })
	if got := e.callbackTypes(c); got[0] != 4064 {
		t.Fatalf("cancel by another member: callback %v, want an ephemeral message", got)
	}
	if n := e.viggle.Count("DELETE", "/api/render/"); n != 0 {
		t.Fatalf("%d DELETEs after a refused cancel", n)
	}
	c = click(alice, orig.ID, "cancel:"+id)
	m := e.final(t, i)
	if !strings.HasPrefix(m.Content, "**Cancelled**") {
		t.Fatalf("after cancel: %q", m.Content)
	}
	if got := e.callbackTypes(c); got[0] != 6000 {
		t.Fatalf("owner's cancel acknowledged with %v, want a deferred update (6)", got)
	}
	if n := e.viggle.Count("DELETE", "/api/render/"); n != 1 {
		t.Fatalf("%d DELETEs, want 1", n)
	}

	// Retry: the owner only, a new job with the same parameters.
	f := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_fail", "map": "person_a = char_q", "fast": true})
	failed := e.final(t, f)
	fid := e.jobID(t, f)
	posts := e.viggle.Creates()
	r := click(bob, failed.ID, "retry:"+fid)
	e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(r.ID)) == 1 })
	if e.viggle.Creates() != posts {
		t.Fatal("another member's retry made a POST")
	}
	r = click(alice, failed.ID, "retry:"+fid)
	again := e.final(t, r)
	if !strings.Contains(again.Content, "CS-UORC01-009") || e.jobID(t, r) == fid {
		t.Fatalf("retry: %q", again.Content)
	}
	if n := e.viggle.Creates() - posts; n != 1 {
		t.Fatalf("retry made %d POSTs", n)
	}
	// A second click on the same Retry button (a double click) must not pay twice.
	r2 := click(alice, failed.ID, "retry:"+fid)
	e.waitFor(t, "the answer to the second click", func() bool { return len(e.discord.Callbacks(r2.ID)) == 1 })
	if got := e.callbackTypes(r2); got[0] != 4064 {
		t.Fatalf("second retry answered %v, want an ephemeral message", got)
	}
	if n := e.viggle.Creates() - posts; n != 1 {
		t.Fatalf("a double click on Retry made %d POSTs", n)
	}
	var forms []string
	for _, q := range e.viggle.Requests() {
		if q.Method == "POST" && q.Form.Get("scene_id") == "scene_fail" {
			forms = append(forms, q.Form.Get("character_mapping")+"|"+q.Form.Get("fast"))
		}
	}
	if len(forms) != 2 || forms[0] != forms[1] {
		t.Fatalf("retry sent other parameters: %v", forms)
	}
}

func TestBotJobsFiltersAndPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_ok":   {Polls: 1},
		"scene_fail": {Polls: 1, FailCode: "CS-UORC01-009", FailMessage: "Rendering failed"},
	})
	e.start(t)
	for n := range 12 {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
		e.final(t, i)
		_ = n
	}
	fi := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_fail", "map": "a=char_x"})
	e.final(t, fi)

	l := e.command(t, alice, 0, "jobs", nil)
	e.waitFor(t, "the list", func() bool { return len(e.discord.Callbacks(l.ID)) == 1 })
	if c := callbackContent(t, e, l); !strings.Contains(c, "page 1 of 2") || strings.Count(c, "\n") != 10 {
		t.Fatalf("first page:\n%s", c)
	}
	list, _ := e.discord.Original(l.ID)
	next := ""
	for _, b := range list.Buttons() {
		if b.Label == "Next" {
			next = b.CustomID
		}
	}
	if next == "" {
		t.Fatalf("no Next button on %q", list.Content)
	}
	// Another member cannot page alice's list.
	c, err := e.discord.SendComponent(t.Context(), discordtest.Component{CustomID: next, MessageID: list.ID, GuildID: guildID, ChannelID: channelID, UserID: bob})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(c.ID)) == 1 })
	if got := e.callbackTypes(c); got[0] != 4064 {
		t.Fatalf("bob paging alice's list: %v", got)
	}
	c, err = e.discord.SendComponent(t.Context(), discordtest.Component{CustomID: next, MessageID: list.ID, GuildID: guildID, ChannelID: channelID, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "page 2", func() bool {
		m, _ := e.discord.Original(l.ID)
		return m != nil && strings.Contains(m.Content, "page 2 of 2")
	})
	if m, _ := e.discord.Original(l.ID); strings.Count(m.Content, "\n") != 3 {
		t.Fatalf("second page:\n%s", m.Content)
	}
	f := e.command(t, alice, 0, "jobs", map[string]any{"status": "failed"})
	e.waitFor(t, "the failed list", func() bool { return len(e.discord.Callbacks(f.ID)) == 1 })
	if c := callbackContent(t, e, f); !strings.Contains(c, "scene_fail") || strings.Contains(c, "scene_ok") {
		t.Fatalf("failed filter:\n%s", c)
	}
	if c := callbackContent(t, e, f); !strings.Contains(c, "<t:") {
		t.Fatalf("ages are not Discord timestamps:\n%s", c)
	}
}

func TestBotCrashAfterChannelPostDoesNotPostTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 6, Steps: 3}})
	first, _ := e.childBot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := e.discord.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.discord.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "commands", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "a=char_x"})
	e.jobID(t, i)
	e.discord.ExpireToken(i.Token)
	// Discord creates the message, but its answer is held back: the bot dies before it learns of it.
	e.discord.FailNext("POST", "/channels/*/messages", discordtest.Failure{DelayAfter: time.Minute})
	e.waitFor(t, "the channel post", func() bool { return len(e.botPosts(channelID)) == 1 })
	first.Process.Kill()
	first.Wait()
	e.childBot(t)
	if err := e.discord.WaitSessions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "the repeated post", func() bool { return len(e.discord.Find("POST", "/channels/*/messages")) >= 2 })
	e.waitJob(t, alice, i, "delivered", func(j *store.Job) bool { return j.State == store.StateDelivered })
	if n := len(e.botPosts(channelID)); n != 1 {
		t.Fatalf("%d messages in the channel, want 1 (the nonce makes the repeat harmless)", n)
	}
	if n := e.viggle.Creates(); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
}
