package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// Issue 9 end to end: a member goes from a template and a photo to a group video without seeing an id.

// choices returns the choices of the autocomplete answer to interaction i.
func (e *botEnv) choices(t *testing.T, i *discordtest.Interaction) []map[string]any {
	t.Helper()
	e.waitFor(t, "the autocomplete answer", func() bool { return len(e.discord.Callbacks(i.ID)) == 1 })
	var cb struct {
		Type int `json:"type"`
		Data struct {
			Choices []map[string]any `json:"choices"`
		} `json:"data"`
	}
	if err := json.Unmarshal(e.discord.Callbacks(i.ID)[0].JSON, &cb); err != nil || cb.Type != 8 {
		t.Fatalf("autocomplete answer %s (%v), want type 8", e.discord.Callbacks(i.ID)[0].JSON, err)
	}
	return cb.Data.Choices
}

func (e *botEnv) autocomplete(t *testing.T, user, name, focused string, opts map[string]any) []map[string]any {
	t.Helper()
	i, err := e.discord.SendCommand(t.Context(), discordtest.SlashCommand{Name: name, Options: opts, Focused: focused,
		GuildID: guildID, ChannelID: channelID, UserID: user})
	if err != nil {
		t.Fatalf("autocomplete /%s %s: %v", name, focused, err)
	}
	return e.choices(t, i)
}

// private waits for the ephemeral answer to interaction i (a message, or the edit of a deferred one)
// and returns its text.
func (e *botEnv) answer(t *testing.T, i *discordtest.Interaction, what string, ok func(string) bool) string {
	t.Helper()
	var text string
	e.waitFor(t, what, func() bool {
		if m, found := e.discord.Original(i.ID); found && !m.Loading() && ok(m.Content) {
			text = m.Content
			return true
		}
		return false
	})
	return text
}

func TestBotSceneCharacterAndRenderByName(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, nil)
	e.viggle.SetTemplate("tpl_party", viggletest.Template{Persons: 2, Duration: 4500 * time.Millisecond, ImportPolls: 2,
		Render: &viggletest.Scenario{Polls: 2, VideoSize: 64 << 10}})
	e.start(t)

	// 1. Import the template: the reply lists its persons in order, so members see what to map.
	imp := e.command(t, alice, 0, "scene", map[string]any{"import": map[string]any{"template": "tpl_party", "name": "Party Dance"}})
	reply := e.answer(t, imp, "the import's answer", func(s string) bool { return strings.Contains(s, "Person 2") })
	scene, err := e.db(t).SceneByName(t.Context(), guildID, "party dance")
	if err != nil || scene.Status != store.StatusReady || len(scene.Persons) != 2 {
		t.Fatalf("stored scene %+v (%v), want ready with 2 persons", scene, err)
	}
	for k, p := range scene.Persons {
		if !strings.Contains(reply, p.UUID) || !strings.Contains(reply, "Person "+string(rune('1'+k))) {
			t.Fatalf("the import's answer does not list %s as Person %d:\n%s", p.UUID, k+1, reply)
		}
	}
	if !strings.Contains(reply, "credits") {
		t.Fatalf("the import's answer says nothing of the cost:\n%s", reply)
	}

	// 2. A character from a photo; a GIF is refused before anything reaches Viggle.
	made := e.viggle.Characters()
	gif := e.command(t, alice, 0, "character", map[string]any{"create": map[string]any{"name": "Alice",
		"image": discordtest.Attachment{Filename: "alice.gif", ContentType: "image/gif", Size: 2000, URL: "https://cdn.discordapp.com/attachments/1/2/alice.gif"}}})
	e.waitFor(t, "the GIF's refusal", func() bool { return len(e.discord.Callbacks(gif.ID)) == 1 })
	if got := e.callbackTypes(gif); got[0] != 4064 {
		t.Fatalf("a GIF got callback %v, want an ephemeral refusal", got)
	}
	if n := e.viggle.Characters() - made; n != 0 {
		t.Fatalf("a GIF made %d Viggle calls", n)
	}
	png := e.command(t, alice, 0, "character", map[string]any{"create": map[string]any{"name": "Alice",
		"image": discordtest.Attachment{Filename: "alice.png", ContentType: "image/png", Size: 2000, URL: "https://cdn.discordapp.com/attachments/1/2/alice.png"}}})
	e.answer(t, png, "the character's answer", func(s string) bool { return strings.Contains(strings.ToLower(s), "ready") })
	char, err := e.db(t).ResolveCharacter(t.Context(), alice, guildID, "", "alice")
	if err != nil || char.Status != store.StatusReady || char.ViggleID == "" {
		t.Fatalf("stored character %+v (%v), want ready with its Viggle id", char, err)
	}

	// 3. Autocomplete offers the scene by name (its value the Viggle id), then its persons, then the
	// character by name: from SQLite, with no Viggle call.
	requests := len(e.viggle.Requests())
	sc := e.autocomplete(t, alice, "render", "scene", map[string]any{"scene": "part"})
	if len(sc) == 0 || sc[0]["name"] != "Party Dance" || sc[0]["value"] != scene.ViggleID {
		t.Fatalf("scene choices %v, want Party Dance → %s", sc, scene.ViggleID)
	}
	persons := e.autocomplete(t, alice, "render", "map", map[string]any{"scene": scene.ViggleID, "map": ""})
	if !anyChoiceHas(persons, scene.Persons[0].UUID) {
		t.Fatalf("map choices %v do not offer %s", persons, scene.Persons[0].UUID)
	}
	chars := e.autocomplete(t, alice, "render", "map", map[string]any{"scene": scene.ViggleID, "map": scene.Persons[0].UUID + "=al"})
	if !anyChoiceHas(chars, "Alice") {
		t.Fatalf("map choices %v do not offer the character Alice", chars)
	}
	if n := len(e.viggle.Requests()) - requests; n != 0 {
		t.Fatalf("autocomplete made %d Viggle requests", n)
	}

	// 4. Bad names cost nothing: an unknown character, and a person the scene does not have.
	posts := e.viggle.Creates()
	for _, c := range []struct{ m, says string }{
		{scene.Persons[0].UUID + "=nobody", "nobody"},
		{"person_notthere=alice", scene.Persons[0].UUID},
	} {
		i := e.command(t, alice, 0, "render", map[string]any{"scene": scene.ViggleID, "map": c.m})
		e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(i.ID)) == 1 })
		if got := e.callbackTypes(i); got[0] != 4064 || !strings.Contains(callbackContent(t, e, i), c.says) {
			t.Fatalf("map %q: callback %v %q, want an ephemeral refusal naming %s", c.m, got, callbackContent(t, e, i), c.says)
		}
	}
	if n := e.viggle.Creates() - posts; n != 0 {
		t.Fatalf("bad maps made %d POSTs", n)
	}

	// 5. A render that names its scene and characters by name: delivered, with the Viggle ids sent.
	r := e.command(t, alice, 0, "render", map[string]any{"scene": "Party Dance", "map": "*=alice"})
	if m := e.final(t, r); !strings.HasPrefix(m.Content, "**Done!**") || len(m.Attachments) != 1 {
		t.Fatalf("render by name: %q with %d attachments", m.Content, len(m.Attachments))
	}
	post := lastPost(e)
	var mapping map[string]string
	if err := json.Unmarshal([]byte(post.Form.Get("character_mapping")), &mapping); err != nil || post.Form.Get("scene_id") != scene.ViggleID ||
		len(mapping) != 2 || mapping[scene.Persons[0].UUID] != char.ViggleID || mapping[scene.Persons[1].UUID] != char.ViggleID {
		t.Fatalf("sent scene_id %q, character_mapping %q; want %s with %s on both persons", post.Form.Get("scene_id"),
			post.Form.Get("character_mapping"), scene.ViggleID, char.ViggleID)
	}

	// 6. /job shows it, and Re-render makes a new job with the same parameters.
	j := e.waitJob(t, alice, r, "delivered", func(j *store.Job) bool { return j.State == store.StateDelivered })
	show := e.command(t, alice, 0, "job", map[string]any{"id": j.ID})
	e.waitFor(t, "the job's details", func() bool { return len(e.discord.Callbacks(show.ID)) == 1 })
	var details discordtest.Message
	e.waitFor(t, "the job's message", func() bool {
		m, ok := e.discord.Original(show.ID)
		if ok {
			details = *m
		}
		return ok
	})
	again := ""
	for _, b := range details.Buttons() {
		if strings.HasPrefix(b.CustomID, "rerender:") {
			again = b.CustomID
		}
	}
	if again == "" || !strings.Contains(details.Content, "Party Dance") {
		t.Fatalf("/job: %q with buttons %+v, want the scene's name and a Re-render button", details.Content, details.Buttons())
	}
	posts = e.viggle.Creates()
	click, err := e.discord.SendComponent(t.Context(), discordtest.Component{CustomID: again, MessageID: details.ID, GuildID: guildID, ChannelID: channelID, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	if m := e.final(t, click); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("the re-render: %q", m.Content)
	}
	if n := e.viggle.Creates() - posts; n != 1 {
		t.Fatalf("Re-render made %d POSTs, want 1", n)
	}
	if p := lastPost(e); p.Form.Get("scene_id") != scene.ViggleID || p.Form.Get("character_mapping") != post.Form.Get("character_mapping") {
		t.Fatalf("Re-render sent %v, want the same parameters as %v", p.Form, post.Form)
	}

	// 7. /credits only for members with Manage Server (the fake's default member has it not).
	cr := e.command(t, bob, 0, "credits", nil)
	e.waitFor(t, "the refusal", func() bool { return len(e.discord.Callbacks(cr.ID)) == 1 })
	if got := e.callbackTypes(cr); got[0] != 4064 || !strings.Contains(callbackContent(t, e, cr), "Manage Server") {
		t.Fatalf("/credits by a member: %v %q", got, callbackContent(t, e, cr))
	}
}

func anyChoiceHas(choices []map[string]any, s string) bool {
	for _, c := range choices {
		if n, _ := c["name"].(string); strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// lastPost is the last POST /api/render the fake Viggle received.
func lastPost(e *botEnv) viggletest.Request {
	var post viggletest.Request
	for _, r := range e.viggle.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/api/render") {
			post = r
		}
	}
	return post
}
