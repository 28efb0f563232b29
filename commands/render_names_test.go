package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

const (
	testGuild = "200000000000000001"
	testUser  = "400000000000000001" // the member of the testdata
	otherUser = "400000000000000002"
)

// addScene records a scene of the test guild through the store API, in status st (ready: with its
// Viggle id, persons and duration).
func addScene(t *testing.T, db *store.DB, name, viggleID string, st store.Status, d time.Duration, persons ...string) {
	t.Helper()
	s := &store.Scene{GuildID: testGuild, Name: name, TemplateID: "tpl_" + name, ImportedBy: testUser}
	if err := db.InsertScene(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	s.ViggleID, s.Status, s.Duration = viggleID, st, d
	for _, p := range persons {
		s.Persons = append(s.Persons, store.Person{UUID: p, Type: "human"})
	}
	if err := db.UpdateScene(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// addCharacter records a character through the store API, in status st.
func addCharacter(t *testing.T, db *store.DB, owner, name, viggleID string, shared bool, st store.Status) {
	t.Helper()
	c := &store.Character{OwnerID: owner, GuildID: testGuild, Name: name, Shared: shared}
	if err := db.InsertCharacter(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.ViggleID, c.Status = viggleID, st
	if err := db.UpdateCharacter(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// withOptions replaces the interaction's options (name, value; focused marks the option typed).
func withOptions(focused string, kv ...any) func(map[string]any) {
	return func(d map[string]any) {
		var opts []any
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
		d["data"].(map[string]any)["options"] = opts
	}
}

func catalogEnv(t *testing.T) *handlerEnv {
	t.Helper()
	e := newHandlerEnv(t)
	addScene(t, e.db, "Dance Party", "scene_v1", store.StatusReady, 4500*time.Millisecond, "p1", "p2", "p3")
	addScene(t, e.db, "Slow import", "scene_v2", store.StatusProcessing, 0)
	addCharacter(t, e.db, testUser, "Alice", "char_a", false, store.StatusReady)
	addCharacter(t, e.db, otherUser, "Bob", "char_b", true, store.StatusReady)
	addCharacter(t, e.db, otherUser, "Carol", "char_c", false, store.StatusReady) // not shared: unknown here
	addCharacter(t, e.db, testUser, "Dora", "char_d", false, store.StatusProcessing)
	return e
}

func TestRenderResolvesNamesAndRecordsTheEstimate(t *testing.T) {
	e := catalogEnv(t)
	calls := e.run(t, nil, interaction(t, "render", withOptions("", OptScene, "Dance Party", OptMap, "p2=bob, *=ALICE", OptFast, true)))
	if len(calls) != 1 || answer(t, calls[0]).Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("calls %s, want the acknowledgement", resttest.Kinds(calls))
	}
	list := e.jobsOf(t, testUser)
	if len(list) != 1 {
		t.Fatalf("%d jobs", len(list))
	}
	j := list[0]
	want := []spec.Pair{{Person: "p2", Character: "char_b"}, {Person: "p1", Character: "char_a"}, {Person: "p3", Character: "char_a"}}
	if j.Request.SceneID != "scene_v1" || len(j.Request.Mapping) != len(want) {
		t.Fatalf("request %+v", j.Request)
	}
	for k, p := range want {
		if j.Request.Mapping[k] != p {
			t.Errorf("pair %d = %v, want %v", k, j.Request.Mapping[k], p)
		}
	}
	if j.EstimatedCredits != 10 { // 4.5 s → 5 credits, twice with fast
		t.Errorf("estimate %d, want 10", j.EstimatedCredits)
	}
	if v := progressView(*j, 0); !strings.Contains(v.Content, "about 10 credits") {
		t.Errorf("progress view does not show the estimate:\n%s", v.Content)
	}
}

func TestRenderIDsOfScenesNotKnownHere(t *testing.T) {
	e := catalogEnv(t)
	map1 := "person_x=char_zzz, person_y=550e8400-e29b-41d4-a716-446655440000, person_z=alice"
	e.run(t, nil, interaction(t, "render", withOptions("", OptScene, "scene_elsewhere", OptMap, map1)))
	list := e.jobsOf(t, testUser)
	if len(list) != 1 {
		t.Fatalf("%d jobs", len(list))
	}
	got := list[0].Request
	if got.MappingText() != "person_x=char_zzz, person_y=550e8400-e29b-41d4-a716-446655440000, person_z=char_a" || list[0].EstimatedCredits != 0 {
		t.Fatalf("request %q, estimate %d", got.MappingText(), list[0].EstimatedCredits)
	}
}

func TestRenderRefusesBadNamesBeforeAnyJob(t *testing.T) {
	cases := []struct{ name, scene, mapText, want string }{
		{"unknown name", "scene_v1", "p1=zed", "`p1=zed`, `zed` is not one of your characters"},
		{"unknown name on a scene not known here", "scene_elsewhere", "person_w=zed", "`person_w=zed`, `zed` is not one of your characters"},
		{"another member's unshared character", "scene_v1", "p1=carol", "`carol` is not one of your characters"},
		{"person not in the scene", "scene_v1", "p9=alice", "has no person `p9` — its persons are `p1`, `p2`, `p3`"},
		{"star on a scene not known here", "scene_elsewhere", "*=alice", "I don't know the persons of `scene_elsewhere`"},
		{"character not ready", "scene_v1", "p1=dora", "`Dora` is still being prepared"},
		{"scene still importing", "Slow import", "p1=alice", "still being imported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := catalogEnv(t)
			calls := e.run(t, nil, interaction(t, "render", withOptions("", OptScene, c.scene, OptMap, c.mapText)))
			wantEphemeral(t, calls, c.want)
			wantEphemeral(t, calls, "no credits were used")
			if n := len(e.jobsOf(t, testUser)); n != 0 {
				t.Fatalf("%d jobs recorded for bad input", n)
			}
		})
	}
}

func choicesOf(t *testing.T, calls []resttest.Call) []*discordgo.ApplicationCommandOptionChoice {
	t.Helper()
	if len(calls) != 1 {
		t.Fatalf("calls %s, want one answer", resttest.Kinds(calls))
	}
	a := answer(t, calls[0])
	if a.Type != discordgo.InteractionApplicationCommandAutocompleteResult || a.Data == nil {
		t.Fatalf("answer %s, want choices", calls[0].Body)
	}
	return a.Data.Choices
}

func choiceText(cs []*discordgo.ApplicationCommandOptionChoice) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" => "+c.Value.(string))
	}
	return strings.Join(out, "\n")
}

func TestRenderAutocomplete(t *testing.T) {
	e := catalogEnv(t)
	cases := []struct {
		name    string
		focused string
		opts    []any
		want    string
	}{
		{"scene by name", OptScene, []any{OptScene, "da"}, "Dance Party => scene_v1"},
		{"scene by id", OptScene, []any{OptScene, "SCENE_V"}, "Dance Party => scene_v1\nSlow import => scene_v2"},
		{"persons first", OptMap, []any{OptScene, "scene_v1", OptMap, ""},
			"* — every person of Dance Party => *=\nPerson 1 — p1 (human) => p1=\nPerson 2 — p2 (human) => p2=\nPerson 3 — p3 (human) => p3="},
		{"persons not yet mapped", OptMap, []any{OptScene, "scene_v1", OptMap, "p1 = alice, p"},
			"Person 2 — p2 (human) => p1 = alice, p2=\nPerson 3 — p3 (human) => p1 = alice, p3="},
		{"characters by name", OptMap, []any{OptScene, "scene_v1", OptMap, "p1=alice p2= "},
			"Alice => p1=alice p2=Alice\nDora (still being prepared) => p1=alice p2=Dora\nBob (shared) => p1=alice p2=Bob"},
		{"characters by prefix", OptMap, []any{OptScene, "scene_v1", OptMap, "p1=b"}, "Bob (shared) => p1=Bob"},
		{"unknown scene: no persons", OptMap, []any{OptScene, "scene_elsewhere", OptMap, "pe"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := choiceText(choicesOf(t, e.run(t, nil, interaction(t, "autocomplete_render", withOptions(c.focused, c.opts...)))))
			if got != c.want {
				t.Errorf("choices:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestCurrentPair(t *testing.T) {
	for _, c := range []struct{ in, base, pair string }{
		{"", "", ""},
		{"p1", "", "p1"},
		{"p1=a, p2", "p1=a, ", "p2"},
		{"p1=a p2 = b", "p1=a ", "p2 = b"},
		{"p1=a ", "p1=a ", ""},
		{"p1=a;p2= ", "p1=a;", "p2= "},
	} {
		if base, pair := currentPair(c.in); base != c.base || pair != c.pair {
			t.Errorf("currentPair(%q) = %q, %q; want %q, %q", c.in, base, pair, c.base, c.pair)
		}
	}
}
