package commands

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/jobs"
	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// viggleEnv is the bot's router over a real store, a real engine (not started) and the real catalog
// over the fake Viggle on loopback.
type viggleEnv struct {
	*handlerEnv
	fake *viggletest.Server
	vc   *viggle.Client
}

// Templates of the tests: count-based (ready at the ImportPolls-th status poll), so no clock must move.
var testTemplates = map[string]viggletest.Template{
	"tpl_duo":    {Persons: 2, Duration: 8 * time.Second, ImportPolls: 2},
	"tpl_plain":  {Duration: 4500 * time.Millisecond, ImportPolls: 1},
	"tpl_slow":   {Persons: 1, Duration: 5 * time.Second, ImportPolls: 1 << 30},
	"tpl_broken": {Persons: 2, ImportPolls: 1, FailMessage: "Template import failed: no person could be tracked in the video"},
}

func newViggleEnv(t *testing.T) *viggleEnv {
	t.Helper()
	e := newHandlerEnv(t)
	fake := viggletest.New(viggletest.WithTemplates(testTemplates), viggletest.WithCharacterPolls(2), viggletest.WithCredits(750))
	u, stop, err := fake.Start()
	if err != nil {
		t.Fatalf("start fake viggle: %v", err)
	}
	t.Cleanup(stop)
	vc, err := viggleClientFor(t, u)
	if err != nil {
		t.Fatal(err)
	}
	cat := jobs.NewCatalog(e.db, vc, jobs.CatalogOptions{PollInterval: time.Millisecond, Follow: 300 * time.Millisecond})
	t.Cleanup(cat.Wait)
	e.r, e.logs = testRouter(t, e.eng, &Catalogued{DB: e.db, Catalog: cat, Credits: vc}, nil, nil)
	return &viggleEnv{handlerEnv: e, fake: fake, vc: vc}
}

// viggleClientFor is a Viggle client of the base URL u, with quick retries.
func viggleClientFor(t *testing.T, u string) (*viggle.Client, error) {
	t.Helper()
	return viggle.NewClient("test-key-0123456789", viggle.WithBaseURL(u), viggle.WithRetryPolicy(viggle.RetryPolicy{
		MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond}))
}

// subcommand makes the interaction invoke cmd sub with options (name, value pairs; a bool value is a
// boolean option), focused marking the option typed.
func subcommand(cmd, sub, focused string, kv ...any) func(map[string]any) {
	return func(d map[string]any) {
		opts := []any{}
		for k := 0; k+1 < len(kv); k += 2 {
			o := map[string]any{"name": kv[k], "type": 3, "value": kv[k+1]}
			if _, ok := kv[k+1].(bool); ok {
				o["type"] = 5
			}
			if kv[k] == focused {
				o["focused"] = true
			}
			opts = append(opts, o)
		}
		data := d["data"].(map[string]any)
		data["name"] = cmd
		data["options"] = []any{map[string]any{"name": sub, "type": 1, "options": opts}}
	}
}

// both applies edits in order.
func both(edits ...func(map[string]any)) func(map[string]any) {
	return func(d map[string]any) {
		for _, e := range edits {
			e(d)
		}
	}
}

// deferredThenEdit checks that calls are a deferral (ephemeral or not) then edits of it, and returns
// the last edit's content and embeds.
func deferredThenEdit(t *testing.T, calls []resttest.Call, ephemeral bool) (string, []*discordgo.MessageEmbed) {
	t.Helper()
	if len(calls) < 2 {
		t.Fatalf("calls %s, want a deferral then an edit", resttest.Kinds(calls))
	}
	a := answer(t, calls[0])
	eph := a.Data != nil && a.Data.Flags&discordgo.MessageFlagsEphemeral != 0
	if a.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || eph != ephemeral {
		t.Fatalf("first answer %s, want a deferral (ephemeral %v)", calls[0].Body, ephemeral)
	}
	last := calls[len(calls)-1]
	if last.Kind != resttest.KindRequest || last.Method != http.MethodPatch || !strings.HasSuffix(last.URL, "/messages/@original") {
		t.Fatalf("last call %s, want the edit of the deferred message", last)
	}
	var m struct {
		Content string                    `json:"content"`
		Embeds  []*discordgo.MessageEmbed `json:"embeds"`
	}
	if err := json.Unmarshal(last.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m.Content, m.Embeds
}

// privateAfterDeferral checks that calls are a public deferral, an ephemeral follow-up containing text
// and the deletion of the placeholder.
func privateAfterDeferral(t *testing.T, calls []resttest.Call, text string) {
	t.Helper()
	if len(calls) != 3 || calls[1].Kind != resttest.KindFollowup || calls[2].Method != http.MethodDelete {
		t.Fatalf("calls %s, want a deferral, a private follow-up and the placeholder's deletion", resttest.Kinds(calls))
	}
	var p discordgo.WebhookParams
	if err := calls[1].Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(p.Content, text) {
		t.Fatalf("follow-up %s, want an ephemeral one containing %q", calls[1].Body, text)
	}
}

func importScene(template, name string) func(map[string]any) {
	kv := []any{OptTemplate, template}
	if name != "" {
		kv = append(kv, OptName, name)
	}
	return subcommand(CmdScene, SubImport, "", kv...)
}

func TestSceneImportListsPersonsAndCost(t *testing.T) {
	e := newViggleEnv(t)
	content, _ := deferredThenEdit(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_duo", "Duo dance"))), false)
	for _, want := range []string{"`Duo dance` is imported and ready", "Person 1 — `person_", "Person 2 — `person_",
		"Video: 8 s · about 8 credits per render, 16 with fast."} {
		if !strings.Contains(content, want) {
			t.Errorf("reply does not say %q:\n%s", want, content)
		}
	}
	list, err := e.db.ListScenes(t.Context(), testGuild)
	if err != nil || len(list) != 1 {
		t.Fatalf("scenes %v, %v", list, err)
	}
	s := list[0]
	if s.Status != store.StatusReady || len(s.Persons) != 2 || s.ImportedBy != testUser || s.TemplateID != "tpl_duo" {
		t.Fatalf("scene %+v", s)
	}
	// The persons in Viggle's order.
	if i, j := strings.Index(content, s.Persons[0].UUID), strings.Index(content, s.Persons[1].UUID); i < 0 || j < i {
		t.Errorf("persons not listed in order:\n%s", content)
	}

	// Without a name, the template id names it.
	content, _ = deferredThenEdit(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_plain", ""))), false)
	if !strings.Contains(content, "`tpl_plain` is imported and ready") || !strings.Contains(content, "no persons") ||
		!strings.Contains(content, "about 5 credits per render, 10 with fast") {
		t.Errorf("reply:\n%s", content)
	}
}

func TestSceneImportFailures(t *testing.T) {
	e := newViggleEnv(t)
	content, _ := deferredThenEdit(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_broken", "Broken"))), false)
	if !strings.Contains(content, "did not work") || !strings.Contains(content, "no person could be tracked") || !strings.Contains(content, "/scene import") {
		t.Errorf("failed import reply:\n%s", content)
	}
	// Refused by Viggle: its code kept, what to do said.
	content, _ = deferredThenEdit(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_nope", "Nope"))), false)
	if !strings.Contains(content, "error `"+viggletest.CodeTemplateNotFound+"`") || !strings.Contains(content, "check the id") {
		t.Errorf("refused import reply:\n%s", content)
	}
	// Still importing when the follow ends.
	content, _ = deferredThenEdit(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_slow", "Slow"))), false)
	if !strings.Contains(content, "still importing") || !strings.Contains(content, "/scene list shows when it is ready") {
		t.Errorf("pending import reply:\n%s", content)
	}
	// A name taken here: a private answer, nothing sent.
	before := e.fake.Imports()
	privateAfterDeferral(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_duo", "broken"))), "already has a scene named `broken`")
	if n := e.fake.Imports(); n != before {
		t.Errorf("%d imports sent for a taken name", n-before)
	}
}

func TestSceneListAndRemove(t *testing.T) {
	e := newViggleEnv(t)
	addScene(t, e.db, "Dance Party", "scene_v1", store.StatusReady, 4500*time.Millisecond, "p1", "p2", "p3")
	addScene(t, e.db, "Slow import", "scene_v2", store.StatusProcessing, 0)
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", subcommand(CmdScene, SubList, ""))),
		"**Dance Party** — `scene_v1` · ready\n  3 persons: `p1`, `p2`, `p3`\n  Video: 4.5 s · about 5 credits per render, 10 with fast.\n**Slow import** — `scene_v2` · still importing")

	// Autocomplete of remove: names.
	cs := choicesOf(t, e.run(t, nil, interaction(t, "autocomplete_scene_import", subcommand(CmdScene, SubRemove, OptName, OptName, "da"))))
	if len(cs) != 1 || cs[0].Value != "Dance Party" {
		t.Fatalf("choices %s", choiceText(cs))
	}

	// Another member without Manage Server may not remove it; one with it may.
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", both(asUser(otherUser), subcommand(CmdScene, SubRemove, "", OptName, "dance party")))),
		"Only the member who imported `Dance Party`")
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", both(asUser(otherUser), permissions("32"), subcommand(CmdScene, SubRemove, "", OptName, "Slow import")))),
		"`Slow import` is removed")
	// Its importer may.
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", subcommand(CmdScene, SubRemove, "", OptName, "Dance party"))), "`Dance Party` is removed")
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", subcommand(CmdScene, SubRemove, "", OptName, "Dance party"))), "no scene named")
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", subcommand(CmdScene, SubList, ""))), "no scenes yet")
}

func TestSceneImportWithoutCatalog(t *testing.T) {
	e := newHandlerEnv(t) // a plain store: no catalog
	wantEphemeral(t, e.run(t, nil, interaction(t, "scene_import", importScene("tpl_duo", ""))), notAvailable)
}
