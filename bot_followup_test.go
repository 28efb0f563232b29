package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/commands"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

// Issue 8 end to end: results that notify their owner, credit safety at submission, and messages that
// fit Discord's limits.

// longRender is a render that ends more than 20 s after its acknowledgement, when its owner may have
// looked away: wall time, since the bot measures it on its own clock.
const longRender = 21 * time.Second

// jumpLink is the link to a message as Discord's clients open it.
func jumpLink(channel, message string) string {
	return fmt.Sprintf("https://discord.com/channels/%s/%s/%s", guildID, channel, message)
}

// followups returns the bot's follow-up messages to interaction i (not its original response).
func (e *botEnv) followups(i *discordtest.Interaction) []*discordtest.Message {
	return e.discord.Followups(i.ID)
}

// checkFollowup checks the one follow-up of interaction i: it mentions only the owner and links to the
// interaction's own message (the result), without carrying the video itself.
func (e *botEnv) checkFollowup(t *testing.T, i *discordtest.Interaction, owner string) {
	t.Helper()
	fs := e.followups(i)
	if len(fs) != 1 {
		t.Fatalf("%d follow-ups, want exactly 1", len(fs))
	}
	f := fs[0]
	onlyMentions(t, *f, owner)
	orig, ok := e.discord.Original(i.ID)
	if !ok {
		t.Fatal("no original message")
	}
	if !strings.Contains(f.Content, jumpLink(channelID, orig.ID)) {
		t.Fatalf("follow-up %q does not link to the result message %s", f.Content, orig.ID)
	}
	if len(f.Attachments) != 0 || f.Ephemeral() {
		t.Fatalf("follow-up has %d attachments, ephemeral %v: want a short public notice", len(f.Attachments), f.Ephemeral())
	}
}

// connectedChild starts a child bot and waits until it is the fake's n-th session, ready, with its
// commands registered.
func (e *botEnv) connectedChild(t *testing.T, n int) (*exec.Cmd, *testkit.SyncBuffer) {
	t.Helper()
	cmd, logs := e.childBot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := e.discord.WaitSessions(ctx, n); err != nil {
		t.Fatalf("child bot %d never connected: %v\n%s", n, err, logs.String())
	}
	e.waitFor(t, "commands", func() bool { return len(e.discord.Commands(guildID)) == len(commands.Definitions()) })
	return cmd, logs
}

func TestBotLongRenderNotifiesItsOwnerOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, 21 s")
	}
	t.Parallel()
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_long":  {Duration: longRender, Steps: 3, VideoSize: 64 << 10},
		"scene_quick": {Polls: 3, VideoSize: 64 << 10},
		"scene_lfail": {Duration: longRender, FailCode: "CS-UORC01-009", FailMessage: "could not track a person"},
	})
	e.start(t)
	long := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_long", "map": "a=char_x"})
	fail := e.command(t, bob, 0, "render", map[string]any{"scene": "scene_lfail", "map": "a=char_x"})
	quick := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_quick", "map": "a=char_x"})

	// A render that ends within 20 s of its acknowledgement: the owner is still looking, no follow-up.
	if m := e.final(t, quick); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("quick render: %q", m.Content)
	}
	if j := e.waitJob(t, alice, quick, "the quick render closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() }); !j.FollowedUpAt.IsZero() {
		t.Fatalf("a follow-up recorded for the quick render")
	}

	if m := e.final(t, long); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("long render: %q", m.Content)
	}
	j := e.waitJob(t, alice, long, "the follow-up recorded", func(j *store.Job) bool { return !j.FollowedUpAt.IsZero() })
	e.checkFollowup(t, long, alice)
	if j.ClosedAt.IsZero() {
		t.Fatalf("job not closed after its follow-up")
	}

	// A failure is an end too: its owner (and only them) is told where to look.
	if m := e.final(t, fail); !strings.HasPrefix(m.Content, "**Render failed**") {
		t.Fatalf("long failure: %q", m.Content)
	}
	e.waitJob(t, bob, fail, "the failure's follow-up recorded", func(j *store.Job) bool { return !j.FollowedUpAt.IsZero() })
	e.checkFollowup(t, fail, bob)

	if n := len(e.followups(quick)); n != 0 {
		t.Fatalf("the quick render got %d follow-ups, want none", n)
	}
}

// A bot SIGKILLed between its final edit and the follow-up's record: after the restart its owner gets
// exactly one follow-up, and the video is shown once (a repeated final edit changes the same message).
func TestBotFollowUpSurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes, 21 s")
	}
	for _, c := range []struct {
		name string
		// arm scripts the fake Discord before the render ends; landed waits until the bot is in the
		// window, and checks it is.
		arm, landed func(t *testing.T, e *botEnv, i *discordtest.Interaction)
		uploads     int
	}{{
		name: "after the delivery's record, before the follow-up is answered",
		arm: func(t *testing.T, e *botEnv, i *discordtest.Interaction) {
			// Held until the bot dies, then refused: the follow-up is never created.
			e.discord.FailNext("POST", "/webhooks/*/*", discordtest.Failure{Delay: time.Minute, Status: 503})
		},
		landed: func(t *testing.T, e *botEnv, i *discordtest.Interaction) {
			e.waitJob(t, alice, i, "the delivery recorded", func(j *store.Job) bool { return j.State == store.StateDelivered })
			e.waitFor(t, "the follow-up to be sent", func() bool { return e.discord.Arrived("POST", "/webhooks/*/*") > 0 })
			if j := e.state(t, e.jobID(t, i)); !j.FollowedUpAt.IsZero() || !j.ClosedAt.IsZero() {
				t.Fatalf("follow-up recorded before Discord answered: %+v", j)
			}
		},
		uploads: 1,
	}, {
		name: "after the final edit landed, before the bot learnt so",
		arm: func(t *testing.T, e *botEnv, i *discordtest.Interaction) {
			e.discord.FailNextIf("PATCH", "/webhooks/*/*/messages/@original",
				func(r *discordtest.Request) bool { return len(r.Files) > 0 }, discordtest.Failure{DelayAfter: time.Minute})
		},
		landed: func(t *testing.T, e *botEnv, i *discordtest.Interaction) {
			e.waitFor(t, "the final edit to land", func() bool {
				m, ok := e.discord.Original(i.ID)
				return ok && strings.HasPrefix(m.Content, "**Done!**") && len(m.Attachments) == 1
			})
			if j := e.state(t, e.jobID(t, i)); j.State == store.StateDelivered {
				t.Fatalf("delivery recorded before Discord answered")
			}
		},
		uploads: 2, // the edit is repeated: the same message, replaced by the same video
	}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newBotEnv(t, map[string]viggletest.Scenario{"scene_long": {Duration: longRender, Steps: 3, VideoSize: 64 << 10}})
			first, _ := e.connectedChild(t, 1)
			i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_long", "map": "a=char_x"})
			c.arm(t, e, i)
			c.landed(t, e, i)
			first.Process.Kill() // SIGKILL
			first.Wait()
			e.connectedChild(t, 2)
			e.waitJob(t, alice, i, "the follow-up recorded after the restart", func(j *store.Job) bool { return !j.FollowedUpAt.IsZero() })
			e.checkFollowup(t, i, alice)
			if n := e.uploadsOnceDelivered(t, alice, i, 0); n != c.uploads {
				t.Fatalf("%d uploads, want %d", n, c.uploads)
			}
			if n := len(e.botPosts(channelID)); n != 0 {
				t.Fatalf("%d channel posts, want the result in the interaction's message only", n)
			}
			if n := e.viggle.Creates(); n != 1 {
				t.Fatalf("%d POSTs", n)
			}
		})
	}
}

// A POST /api/render whose outcome is unknown (a 502, or a connection cut after the request was
// written) may have created a paid render: it is sent once, the job ends interrupted, and the owner
// reads that it may have reached Viggle, with a Retry that says it may pay again.
func TestBotSubmissionOutcomeUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_502": {SubmitStatus: 502},
		"scene_cut": {SubmitCut: true},
	})
	e.start(t)
	for _, scene := range []string{"scene_502", "scene_cut"} {
		t.Run(scene, func(t *testing.T) {
			posts := e.viggle.Creates()
			i := e.command(t, alice, 0, "render", map[string]any{"scene": scene, "map": "a=char_x"})
			m := e.final(t, i)
			if !strings.HasPrefix(m.Content, "**Interrupted**") || !strings.Contains(m.Content, "may have") || !strings.Contains(m.Content, "credits") {
				t.Fatalf("after an unknown outcome: %q", m.Content)
			}
			retry := false
			for _, b := range m.Buttons() {
				if strings.HasPrefix(b.CustomID, "retry:") {
					retry = strings.Contains(b.Label, "credits")
				}
			}
			if !retry {
				t.Fatalf("no Retry button that warns about credits: %+v", m.Buttons())
			}
			if j := e.waitJob(t, alice, i, "closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() }); j.State != store.StateInterrupted {
				t.Fatalf("job %s, want interrupted", j.State)
			}
			if n := e.viggle.Creates() - posts; n != 1 {
				t.Fatalf("%d POSTs, want exactly 1", n)
			}
		})
	}
}

// The longest map Discord lets a member type, with a 2,000-character error from Viggle: every message
// about it still fits Discord's limits (the fake refuses over-long ones with 50035, as Discord does).
func TestBotLongestMapAndLongestErrorAreDelivered(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	longErr := strings.Repeat("Viggle says something went wrong. ", 60)[:2000]
	e := newBotEnv(t, map[string]viggletest.Scenario{
		"scene_fail_long_" + strings.Repeat("x", 44): {Polls: 2, FailCode: "CS-UORC01-009", FailMessage: longErr},
	})
	e.start(t)
	var pairs []string
	for n := 0; n < spec.MaxPairs; n++ {
		id := fmt.Sprintf("%02d", n) + strings.Repeat("p", 56)
		pairs = append(pairs, "person_"+id[:51]+"=char_"+id[:52])
	}
	m := strings.Join(pairs, ",")
	if len(m) > 6000 {
		t.Fatalf("test map is %d characters, over the option's max_length", len(m))
	}
	since := len(e.discord.Requests())
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_fail_long_" + strings.Repeat("x", 44), "map": m})
	final := e.final(t, i)
	if !strings.HasPrefix(final.Content, "**Render failed**") || !strings.Contains(final.Content, "CS-UORC01-009") {
		t.Fatalf("final message: %q", final.Content)
	}
	if !strings.Contains(final.Content, "…") {
		t.Fatalf("nothing clipped in a message built from %d characters of map and error", len(m)+len(longErr))
	}
	e.waitJob(t, alice, i, "closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })
	for _, r := range e.discord.Requests()[since:] {
		if r.Status == 400 {
			t.Errorf("Discord refused %s %s: %s", r.Method, r.Path, r.Response)
		}
	}
	// /jobs lists it without overflowing either.
	l := e.command(t, alice, 0, "jobs", nil)
	e.waitFor(t, "the list", func() bool { return len(e.discord.Callbacks(l.ID)) == 1 })
	if r := e.discord.Callbacks(l.ID)[0]; r.Status >= 300 {
		t.Fatalf("/jobs refused: %d %s", r.Status, r.Response)
	}
}
