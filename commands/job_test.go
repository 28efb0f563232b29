package commands

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/store"
)

// jobCommand is /job (or its autocomplete) with the given id typed.
func jobCommand(id string, focused bool) func(map[string]any) {
	return func(d map[string]any) {
		data := d["data"].(map[string]any)
		data["name"] = CmdJob
		o := map[string]any{"name": OptID, "type": 3, "value": id}
		if focused {
			o["focused"] = true
		}
		data["options"] = []any{o}
	}
}

func TestJobShowsOwnJobsOnly(t *testing.T) {
	e := catalogEnv(t)
	e.run(t, nil, interaction(t, "render", withOptions("", OptScene, "scene_v1", OptMap, "p1=alice")))
	running := e.jobsOf(t, testUser)[0]
	failed := e.failedJob(t, store.StateFailed)

	calls := e.run(t, nil, interaction(t, "render", jobCommand(running.ID, false)))
	var edit string
	for _, c := range calls {
		edit += string(c.Body)
	}
	for _, want := range []string{"Dance Party", "Alice", "char_a", "about 5 credits", "cancel:" + running.ID} {
		if !strings.Contains(edit, want) {
			t.Errorf("/job of a running job lacks %q:\n%s", want, edit)
		}
	}
	if !strings.Contains(edit, `"flags":64`) {
		t.Errorf("/job not ephemeral: %s", edit)
	}
	calls = e.run(t, nil, interaction(t, "render", jobCommand(failed.ID, false)))
	edit = ""
	for _, c := range calls {
		edit += string(c.Body)
	}
	if !strings.Contains(edit, "rerender:"+failed.ID) || !strings.Contains(edit, "uses credits again") {
		t.Errorf("/job of a failed job has no Re-render:\n%s", edit)
	}

	// Someone else's job: not found.
	other := interaction(t, "render", jobCommand(running.ID, false))
	other.Member.User.ID = otherUser
	calls = e.run(t, nil, other)
	edit = ""
	for _, c := range calls {
		edit += string(c.Body)
	}
	if !strings.Contains(edit, "can't find a render of yours") || strings.Contains(edit, "Dance Party") {
		t.Errorf("another member's /job:\n%s", edit)
	}

	// Autocomplete: newest first, "scene name · state · age", value the id.
	cs := choicesOf(t, e.run(t, nil, interaction(t, "autocomplete_render", jobCommand("", true))))
	if len(cs) != 2 || cs[1].Value != running.ID || !strings.HasPrefix(cs[1].Name, "Dance Party · sending · ") {
		t.Errorf("choices:\n%s", choiceText(cs))
	}
}

func TestRerenderMakesANewJobEachClick(t *testing.T) {
	e := catalogEnv(t)
	failed := e.failedJob(t, store.StateFailed)
	retried := 0
	for k, id := range []string{"1450000000000000101", "1450000000000000102"} {
		calls := e.run(t, nil, interaction(t, "component", func(d map[string]any) {
			customID("rerender:" + failed.ID)(d)
			d["id"] = id
		}))
		if len(calls) != 1 || answer(t, calls[0]).Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			t.Fatalf("click %d: calls %s", k, resttest.Kinds(calls))
		}
		retried++
	}
	list := e.jobsOf(t, testUser)
	if len(list) != 1+retried {
		t.Fatalf("%d jobs, want %d", len(list), 1+retried)
	}
	for _, j := range list[:retried] {
		if j.RetryOf != "" || j.Request.MappingText() != failed.Request.MappingText() || j.Request.SceneID != failed.Request.SceneID {
			t.Errorf("re-render %+v", j)
		}
	}
	// Another member's click is refused.
	calls := e.run(t, nil, interaction(t, "component", func(d map[string]any) {
		customID("rerender:" + failed.ID)(d)
		d["member"].(map[string]any)["user"].(map[string]any)["id"] = otherUser
	}))
	wantEphemeral(t, calls, "can render it again")
}

// TestJobNamesOnlyCharactersItsOwnerCouldUse: a map that gave another member's private character by its
// id shows the id in /job, never that member's name for it.
func TestJobNamesOnlyCharactersItsOwnerCouldUse(t *testing.T) {
	e := catalogEnv(t)
	e.run(t, nil, interaction(t, "render", withOptions("", OptScene, "scene_v1", OptMap, "p1=alice, p2=char_c")))
	j := e.jobsOf(t, testUser)[0]
	var shown string
	for _, c := range e.run(t, nil, interaction(t, "render", jobCommand(j.ID, false))) {
		shown += string(c.Body)
	}
	if !strings.Contains(shown, "Alice") || !strings.Contains(shown, "char_c") || strings.Contains(shown, "Carol") {
		t.Fatalf("/job shows:\n%s\nwant Alice by name, and char_c without Carol's name", shown)
	}
	if !strings.Contains(shown, "rerender:"+j.ID) || !strings.Contains(shown, "cancel:"+j.ID) {
		t.Fatalf("/job of a running job lacks Re-render or Cancel:\n%s", shown)
	}
}
