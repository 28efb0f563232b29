package commands

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

func buttons(v view) []discordgo.Button {
	var out []discordgo.Button
	for _, c := range v.Components {
		for _, b := range c.(discordgo.ActionsRow).Components {
			out = append(out, b.(discordgo.Button))
		}
	}
	return out
}

func job(state store.State) store.Job {
	return store.Job{ID: "abcdefghjk", OwnerID: "42", State: state, CreatedAt: time.Unix(1_800_000_000, 0),
		Request: spec.Request{SceneID: "scene`x", Mapping: []spec.Pair{{Person: "p_a", Character: "c`b"}}}}
}

func TestViewsEscapeUserTextAndOfferTheRightButtons(t *testing.T) {
	v := progressView(job(store.StateRunning), 3)
	if strings.Contains(v.Content, "scene`x") || !strings.Contains(v.Content, "#3 in Viggle's queue") || !strings.Contains(v.Content, "<t:") {
		t.Errorf("progress view:\n%s", v.Content)
	}
	if b := buttons(v); len(b) != 1 || b[0].CustomID != "cancel:abcdefghjk" {
		t.Errorf("progress buttons %+v", b)
	}
	for state, retry := range map[store.State]bool{store.StateFailed: true, store.StateInterrupted: true, store.StateCancelled: false} {
		j := job(state)
		j.ErrorCode, j.ViggleJobID = "CS-UORC01-009", "job_v1"
		v := endedView(j)
		b := buttons(v)
		if got := len(b) == 1 && b[0].CustomID == "retry:abcdefghjk" && strings.Contains(b[0].Label, "credits"); got != retry {
			t.Errorf("%s: retry button %v, want %v", state, b, retry)
		}
		if !strings.Contains(v.Content, "CS-UORC01-009") || !strings.Contains(v.Content, "job_v1") {
			t.Errorf("%s: codes missing:\n%s", state, v.Content)
		}
	}
	long := doneView(job(store.StateDelivered), jobs.Video{URL: "https://cdn.example/" + strings.Repeat("x", 600), Size: 20 << 20}, false)
	if len(long.Components) != 0 || !strings.Contains(long.Content, "20.0 MiB") {
		t.Errorf("a link over 512 characters must not become a link button: %+v", long.Components)
	}
}

func TestJobsViewPages(t *testing.T) {
	var list []*store.Job
	for i := range 10 {
		j := job(store.StateDelivered)
		j.ID = fmt.Sprintf("job%07d", i)
		list = append(list, &j)
	}
	first := jobsView(list, "42", "done", 0, 23)
	b := buttons(first)
	if !strings.Contains(first.Content, "page 1 of 3") || len(b) != 2 || !b[0].Disabled || b[1].Disabled || b[1].CustomID != "jobs:42:done:1" {
		t.Fatalf("first page: %q %+v", first.Content, b)
	}
	last := jobsView(list[:3], "42", "done", 2, 23)
	if b := buttons(last); b[0].Disabled || !b[1].Disabled || b[0].CustomID != "jobs:42:done:1" {
		t.Fatalf("last page buttons %+v", b)
	}
	if v := jobsView(nil, "42", "", 0, 0); len(v.Components) != 0 || !strings.Contains(v.Content, "/render") {
		t.Fatalf("empty list: %+v", v)
	}
	if v := jobsView(list[:1], "42", "", 0, 1); len(v.Components) != 0 {
		t.Fatal("one page needs no buttons")
	}
}

func TestResultLinkPointsAtTheMessageThatShowsIt(t *testing.T) {
	base := store.Job{GuildID: "g1", ChannelID: "c1", State: store.StateDelivered, VideoURL: "https://cdn.example/v.mp4"}
	for _, c := range []struct {
		d    store.Delivery
		want string
	}{
		{store.Delivery{Where: store.WhereMessage, MessageID: "m1"}, "https://discord.com/channels/g1/c1/m1"},
		{store.Delivery{Where: store.WhereChannel, MessageID: "m2", ChannelID: "c2"}, "https://discord.com/channels/g1/c2/m2"},
		{store.Delivery{Where: store.WhereDM, MessageID: "m3", ChannelID: "dm9"}, "https://discord.com/channels/@me/dm9/m3"},
		{store.Delivery{Note: store.NoteOwnerNotTold}, "https://cdn.example/v.mp4"}, // nothing shown: the video itself
	} {
		j := base
		j.Delivery = c.d
		if got := resultLink(&j); got != c.want {
			t.Errorf("resultLink(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}
