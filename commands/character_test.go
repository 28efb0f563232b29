package commands

import (
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// withAttachment changes the recorded attachment of character_create (an empty contentType drops it).
func withAttachment(filename, contentType string, size int, url string) func(map[string]any) {
	return func(d map[string]any) {
		atts := d["data"].(map[string]any)["resolved"].(map[string]any)["attachments"].(map[string]any)
		for _, v := range atts {
			a := v.(map[string]any)
			a["filename"], a["size"], a["url"] = filename, size, url
			a["content_type"] = contentType
			if contentType == "" {
				delete(a, "content_type")
			}
		}
	}
}

// withName changes the name given to /character create.
func withName(name string) func(map[string]any) {
	return func(d map[string]any) {
		sub := d["data"].(map[string]any)["options"].([]any)[0].(map[string]any)
		sub["options"].([]any)[0].(map[string]any)["value"] = name
	}
}

func TestCharacterCreateReadyWithThumbnail(t *testing.T) {
	e := newViggleEnv(t)
	content, embeds := deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", nil)), true)
	if !strings.Contains(content, "Character `Alice` is ready") || !strings.Contains(content, "/render") {
		t.Errorf("reply:\n%s", content)
	}
	c, err := e.db.ResolveCharacter(t.Context(), testUser, testGuild, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.StatusReady || c.ViggleID == "" || c.ThumbnailURL == "" || c.GuildID != testGuild {
		t.Fatalf("character %+v", c)
	}
	if len(embeds) != 1 || embeds[0].Image == nil || embeds[0].Image.URL != c.ThumbnailURL {
		t.Errorf("embeds %+v, want the thumbnail", embeds)
	}
	// The list shows its thumbnail.
	calls := e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubList, "")))
	wantEphemeral(t, calls, "• **Alice** — ready")
	if a := answer(t, calls[0]); len(a.Data.Embeds) != 1 || a.Data.Embeds[0].Thumbnail == nil || a.Data.Embeds[0].Thumbnail.URL != c.ThumbnailURL {
		t.Errorf("list embeds %s, want Alice's thumbnail", calls[0].Body)
	}
	// Its name is the caller's, case-insensitively: nothing more is sent.
	content, _ = deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", withName("ALICE"))), true)
	if !strings.Contains(content, "already have a character named `ALICE`") {
		t.Errorf("taken name reply:\n%s", content)
	}
	if n := e.fake.Characters(); n != 1 {
		t.Errorf("%d preprocess calls, want 1", n)
	}
}

func TestCharacterCreateChecksTheImageFirst(t *testing.T) {
	e := newViggleEnv(t)
	for _, tc := range []struct {
		name, file, ct string
		size           int
		want           string
	}{
		{"gif", "dance.gif", "image/gif", 1000, "`dance.gif` is image/gif: Viggle makes characters from PNG, JPEG or WebP photos only"},
		{"too large", "big.png", "image/png", 10<<20 + 1, "at most 10 MiB"},
		{"no type, other extension", "face.bmp", "", 1000, "of an unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", withAttachment(tc.file, tc.ct, tc.size, "https://cdn.example/"+tc.file))), tc.want)
		})
	}
	if n := e.fake.Characters(); n != 0 {
		t.Errorf("%d preprocess calls for refused photos", n)
	}
	// A WebP without a content type is taken by its extension; a JPEG by its type.
	content, _ := deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", both(withName("Webby"), withAttachment("me.webp", "", 1000, "https://cdn.example/me.webp")))), true)
	content2, _ := deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", both(withName("Jay"), withAttachment("me.jpg", "image/jpeg; charset=binary", 10<<20, "https://cdn.example/me.jpg")))), true)
	if !strings.Contains(content, "is ready") || !strings.Contains(content2, "is ready") {
		t.Errorf("replies:\n%s\n%s", content, content2)
	}
}

func TestCharacterCreateFailedSaysWhy(t *testing.T) {
	e := newViggleEnv(t)
	content, embeds := deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create",
		withAttachment("fail.png", "image/png", 1000, "https://cdn.example/fail.png"))), true)
	if !strings.Contains(content, "`Alice` was not made") || !strings.Contains(content, viggletest.CharacterFailMessage) || len(embeds) != 0 {
		t.Errorf("reply %q, embeds %v", content, embeds)
	}
	// A failed one's name is free again.
	content, _ = deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", nil)), true)
	if !strings.Contains(content, "is ready") {
		t.Errorf("retry reply:\n%s", content)
	}
}

func TestCharacterListDeleteShare(t *testing.T) {
	e := newViggleEnv(t)
	addCharacter(t, e.db, testUser, "Alice", "char_a", false, store.StatusReady)
	addCharacter(t, e.db, testUser, "Dora", "char_d", false, store.StatusProcessing)
	addCharacter(t, e.db, otherUser, "Bob", "char_b", true, store.StatusReady)
	addCharacter(t, e.db, otherUser, "Carol", "char_c", false, store.StatusReady) // not shared: not listed

	list := subcommand(CmdCharacter, SubList, "")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", list)),
		"**Your characters** (2)\n• **Alice** — ready · `char_a`\n• **Dora** — still being prepared · `char_d`\n**Shared in this server** (1)\n• **Bob** — ready · `char_b`")

	// share: own names only are suggested; sharing makes Alice usable by others.
	cs := choicesOf(t, e.run(t, nil, interaction(t, "autocomplete_scene_import", subcommand(CmdCharacter, SubShare, OptName, OptName, ""))))
	if got := choiceText(cs); strings.Contains(got, "Bob") || !strings.Contains(got, "Alice") {
		t.Errorf("share suggestions %s", got)
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubShare, "", OptName, "bob"))), "You have no character named `bob`")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubShare, "", OptName, "alice"))), "`Alice` is shared with this server")
	if c, err := e.db.ResolveCharacter(t.Context(), otherUser, testGuild, "", "alice"); err != nil || c.ViggleID != "char_a" {
		t.Fatalf("shared Alice for another member: %v, %v", c, err)
	}

	// delete: another member's shared one needs Manage Server; own ones are the owner's to delete.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "Bob"))), "shared here by another member")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(permissions("32"), subcommand(CmdCharacter, SubDelete, "", OptName, "Bob")))), "`Bob` of <@"+otherUser+"> is deleted")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "dora"))), "`Dora` is deleted")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "Carol"))), "no character named `Carol`")
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", list)), "**Your characters** (1)\n• **Alice** — ready · `char_a` · shared here")
}
