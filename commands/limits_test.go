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

// longestJob has the longest map spec allows (MaxPairs pairs of MaxIDLen-character ids, some of them
// multi-byte), the longest scene id, a 2,000-character Viggle error, and ids of realistic length.
func longestJob(state store.State) store.Job {
	var pairs []spec.Pair
	for n := range spec.MaxPairs {
		p := fmt.Sprintf("p%02d", n) + strings.Repeat("é", spec.MaxIDLen-3)
		c := fmt.Sprintf("c%02d", n) + strings.Repeat("x", spec.MaxIDLen-3)
		pairs = append(pairs, spec.Pair{Person: p, Character: c})
	}
	return store.Job{ID: "k2m3n4p5q6", OwnerID: "400000000000000001", GuildID: "200000000000000001", ChannelID: "300000000000000001",
		State: state, CreatedAt: time.Unix(1_800_000_000, 0), SubmittedAt: time.Unix(1_800_000_010, 0), UploadLimit: 10 << 20,
		ViggleJobID: "vj_" + strings.Repeat("0123456789abcdef", 4), ViggleStatus: strings.Repeat("processing", 10), Progress: 42,
		Stage: strings.Repeat("pose_estimation_", 10), ErrorCode: "CS-UORC01-009",
		ErrorMessage: strings.Repeat("Viggle says something went wrong. ", 60)[:2000],
		Request:      spec.Request{SceneID: strings.Repeat("s", spec.MaxIDLen), Mapping: pairs, Background: "solid", BGColor: "#123456", Fast: true, Model: "V4_Preview"}}
}

// checkFits checks that v fits Discord's limits by itself (the last-resort clipping changes nothing)
// and keeps what must never be clipped.
func checkFits(t *testing.T, name string, v view, keep ...string) {
	t.Helper()
	if n := runes(v.Content); n > maxContent {
		t.Errorf("%s: %d characters", name, n)
	}
	r := &Response{Content: v.Content, Components: v.Components}
	if clipped := fitResponse(r); len(clipped) > 0 {
		t.Errorf("%s: over the limits: %v", name, clipped)
	}
	for _, k := range keep {
		if !strings.Contains(v.Content, k) {
			t.Errorf("%s: %q missing from\n%s", name, k, v.Content)
		}
	}
	if len(v.Components) > maxRows {
		t.Errorf("%s: %d rows", name, len(v.Components))
	}
	for _, b := range buttons(v) {
		if runes(b.Label) > maxLabel || runes(b.CustomID) > maxCustomID {
			t.Errorf("%s: button %+v", name, b)
		}
		if b.CustomID != "" {
			prefix, rest, _ := strings.Cut(b.CustomID, idSep)
			known := map[string]*CustomID{"cancel": &cancelID, "retry": &retryID, "jobs": &pageID}[prefix]
			if known == nil {
				t.Errorf("%s: button id %q has no route", name, b.CustomID)
			} else if _, err := known.parse(rest); err != nil {
				t.Errorf("%s: button id %q does not parse: %v", name, b.CustomID, err)
			}
		}
	}
	if !strings.Contains(v.Content, ellipsis) {
		t.Errorf("%s: nothing clipped with %q in a view of the longest map:\n%s", name, ellipsis, v.Content)
	}
}

func TestEveryViewOfTheLongestJobFits(t *testing.T) {
	j := longestJob(store.StateRunning)
	checkFits(t, "progress", progressView(j, 12), j.ID, "#12 in Viggle's queue")
	checkFits(t, "last edit", lastEditView(j, 12), j.ID, "post the result here")
	d := longestJob(store.StateDelivered)
	checkFits(t, "done, attached", doneView(d, jobs.Video{}, true), d.ID, "your video is ready")
	url := "https://cdn.viggle.example/renders/" + strings.Repeat("a1b2c3d4", 50) + ".mp4?sig=" + strings.Repeat("z", 200)
	checkFits(t, "done, link", doneView(d, jobs.Video{URL: url, Size: 20 << 20}, false), d.ID, url)
	for _, state := range []store.State{store.StateFailed, store.StateInterrupted, store.StateCancelled} {
		j := longestJob(state)
		want := []string{j.ID, j.ViggleJobID}
		if state == store.StateFailed {
			want = append(want, j.ErrorCode, "Viggle says something went wrong")
		}
		checkFits(t, string(state), endedView(j), want...)
	}
	var list []*store.Job
	for n := range jobsPageSize {
		j := longestJob(store.StateFailed)
		j.ID = fmt.Sprintf("k2m3n4p%03d", n)
		j.ErrorCode = "CS-UORC01-" + strings.Repeat("9", 40) // an unusually long code: never clipped
		list = append(list, &j)
	}
	v := jobsView(list, "400000000000000001", StatusFailed, 3, 95)
	checkFits(t, "/jobs", v, list[0].ErrorCode, list[9].ID, "page 4 of 10")
	// Results whose links do not fit in the text become link buttons.
	for _, j := range list {
		j.State, j.VideoURL, j.ErrorCode = store.StateUndeliverable, url[:500], ""
	}
	v = jobsView(list, "400000000000000001", "", 0, 10)
	checkFits(t, "/jobs with long links", v, list[9].ID)
	links := 0
	for _, b := range buttons(v) {
		if b.Style == discordgo.LinkButton && b.URL == url[:500] {
			links++
		}
	}
	if strings.Count(v.Content, "[result](")+links != len(list) {
		t.Errorf("%d links in the text and %d buttons for %d results:\n%s", strings.Count(v.Content, "[result]("), links, len(list), v.Content)
	}
}

func TestInterruptedViewSaysCreditsMayBeUsed(t *testing.T) {
	j := job(store.StateInterrupted)
	j.ErrorCode = jobs.CodeOutcomeUnknown
	v := endedView(j)
	if !strings.Contains(v.Content, "may have reached Viggle") || !strings.Contains(v.Content, "may have used credits") {
		t.Errorf("interrupted view:\n%s", v.Content)
	}
	b := buttons(v)
	if len(b) != 1 || b[0].Label != "Retry (may use credits twice)" || b[0].CustomID != "retry:"+j.ID {
		t.Errorf("interrupted view's Retry: %+v", b)
	}
	if b := buttons(endedView(job(store.StateFailed))); len(b) != 1 || !strings.Contains(b[0].Label, "credits") {
		t.Errorf("failed view's Retry: %+v", b)
	}
}

func TestFitResponseClipsAsALastResort(t *testing.T) {
	var cs []*discordgo.ApplicationCommandOptionChoice
	for n := range 30 {
		cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: strings.Repeat("n", 120), Value: fmt.Sprint(n, strings.Repeat("v", 120))})
	}
	var rows []discordgo.MessageComponent
	for range 7 {
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: strings.Repeat("l", 90), CustomID: strings.Repeat("i", 120)}}})
	}
	r := &Response{Content: strings.Repeat("ü", 2500), Components: rows, Choices: cs,
		Embeds: []*discordgo.MessageEmbed{{Title: "t", Description: strings.Repeat("d", 5000),
			Fields: make([]*discordgo.MessageEmbedField, 30)}}}
	for k := range r.Embeds[0].Fields {
		r.Embeds[0].Fields[k] = &discordgo.MessageEmbedField{Name: "f", Value: strings.Repeat("x", 1000)}
	}
	clipped := fitResponse(r)
	if len(clipped) == 0 || runes(r.Content) != maxContent || !strings.HasSuffix(r.Content, ellipsis) {
		t.Fatalf("content %d characters, clipped %v", runes(r.Content), clipped)
	}
	if len(r.Components) != maxRows || len(r.Choices) != maxChoices {
		t.Fatalf("%d rows, %d choices", len(r.Components), len(r.Choices))
	}
	b := r.Components[0].(discordgo.ActionsRow).Components[0].(discordgo.Button)
	if runes(b.Label) != maxLabel || runes(b.CustomID) != maxCustomID {
		t.Fatalf("button %+v", b)
	}
	for _, c := range r.Choices {
		if runes(c.Name) > maxChoiceText || runes(c.Value.(string)) > maxChoiceText {
			t.Fatalf("choice %+v", c)
		}
	}
	e := r.Embeds[0]
	total := runes(e.Title) + runes(e.Description)
	for _, f := range e.Fields {
		total += runes(f.Name) + runes(f.Value)
	}
	if len(e.Fields) > maxEmbedFields || runes(e.Description) > maxEmbedDescription || total > maxEmbedTotal {
		t.Fatalf("embed: %d fields, description %d, total %d", len(e.Fields), runes(e.Description), total)
	}
	// A message the notifier sends is checked the same way.
	long := strings.Repeat("x", 3000)
	body, clipped := fitBody(messageEdit{Content: &long})
	if got := body.(messageEdit).Content; len(clipped) != 1 || runes(*got) != maxContent || runes(long) != 3000 {
		t.Fatalf("edit clipped %v to %d characters (the caller's text must stay as it was)", clipped, runes(*got))
	}
}
