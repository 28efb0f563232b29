package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/store"
)

const (
	modlogChannel = "300000000000000009"
	manageServer  = "32" // the Manage Server permission bit
)

// configCmd invokes /config sub with options (name, value pairs).
func configCmd(sub string, kv ...any) func(map[string]any) {
	return subcommand(CmdConfig, sub, "", kv...)
}

// asModerator makes member id, with Manage Server, send the interaction.
func asModerator(id string) func(map[string]any) {
	return both(asUser(id), permissions(manageServer))
}

// moderationEnv is the viggle env with character approval on and, if modlog, a modlog channel, both
// set through /config by a moderator.
func moderationEnv(t *testing.T, modlog bool) *viggleEnv {
	t.Helper()
	e := newViggleEnv(t)
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(configCmd(SubCharacters, OptApproval, true), asModerator(otherUser)))),
		"Character approval is on")
	if modlog {
		wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(configCmd(SubModlog, OptChannel, modlogChannel), asModerator(otherUser)))),
			"posted in <#"+modlogChannel+">")
	}
	addScene(t, e.db, "Dance Party", "scene_v1", store.StatusReady, 4*time.Second, "p1", "p2")
	return e
}

// modlogPosts are the calls that posted in the modlog channel.
func modlogPosts(calls []resttest.Call) []resttest.Call {
	var out []resttest.Call
	for _, c := range calls {
		if c.Kind == resttest.KindRequest && c.Method == http.MethodPost && c.URL == discordgo.EndpointChannelMessages(modlogChannel) {
			out = append(out, c)
		}
	}
	return out
}

// postedMessage is a recorded channel post as Discord would show it in a component interaction.
type postedMessage struct {
	Content         string                            `json:"content"`
	Components      []json.RawMessage                 `json:"components"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	Flags           int                               `json:"flags"`
}

// customIDs are the custom ids of the buttons of rows (raw JSON components).
func customIDs(t *testing.T, rows []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, raw := range rows {
		var row struct {
			Components []struct {
				CustomID string `json:"custom_id"`
				Label    string `json:"label"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			t.Fatal(err)
		}
		for _, b := range row.Components {
			out = append(out, b.CustomID)
		}
	}
	return out
}

// click is a click by edit's member on button id of message m.
func click(t *testing.T, m postedMessage, id string, edit func(map[string]any)) *discordgo.Interaction {
	t.Helper()
	return interaction(t, "component", both(customID(id), func(d map[string]any) {
		msg := d["message"].(map[string]any)
		msg["content"], msg["flags"], msg["embeds"] = m.Content, m.Flags, m.Embeds
		msg["components"] = m.Components
		if m.Components == nil {
			msg["components"] = []any{}
		}
		if edit != nil {
			edit(d)
		}
	}))
}

// callback decodes an interaction callback whose message may have components (which
// discordgo.InteractionResponse cannot decode).
func callback(t *testing.T, c resttest.Call) (discordgo.InteractionResponseType, postedMessage) {
	t.Helper()
	if c.Kind != resttest.KindRespond {
		t.Fatalf("%s, want an interaction callback", c)
	}
	var body struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data postedMessage                     `json:"data"`
	}
	if err := c.Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Type, body.Data
}

// updated is the message a component's answer (an update, type 7) leaves.
func updated(t *testing.T, c resttest.Call) postedMessage {
	t.Helper()
	typ, m := callback(t, c)
	if typ != discordgo.InteractionResponseUpdateMessage {
		t.Fatalf("answer %s, want an update of the message", c.Body)
	}
	return m
}

// privateMessage is the content and components of calls, one ephemeral message.
func privateMessage(t *testing.T, calls []resttest.Call) postedMessage {
	t.Helper()
	if len(calls) != 1 {
		t.Fatalf("calls %s, want one answer", resttest.Kinds(calls))
	}
	typ, m := callback(t, calls[0])
	if typ != discordgo.InteractionResponseChannelMessageWithSource || m.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
		t.Fatalf("answer %s, want an ephemeral message", calls[0].Body)
	}
	return m
}

// createHeld makes character name of testUser with approval on and returns the owner's reply and the
// calls.
func createHeld(t *testing.T, e *viggleEnv, name string) (string, []resttest.Call) {
	t.Helper()
	calls := e.run(t, nil, interaction(t, "character_create", withName(name)))
	content, _ := deferredThenEdit(t, calls, true)
	return content, calls
}

func characterNamed(t *testing.T, db *store.DB, owner, name string) *store.Character {
	t.Helper()
	list, err := db.ListCharacters(t.Context(), owner, testGuild)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.OwnerID == owner && c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no character %q", owner, name)
	return nil
}

// renders reports whether /render p1=<name> by testUser records a job; else it must be refused,
// privately and before any job, with refusal in the answer.
func renders(t *testing.T, e *viggleEnv, name, refusal string) bool {
	t.Helper()
	before := len(e.jobsOf(t, testUser))
	renderN++ // a new interaction each time: the same one again is a replay, which gets nothing
	id := func(d map[string]any) { d["id"] = fmt.Sprint(1450000000000090000 + renderN) }
	calls := e.run(t, nil, interaction(t, "render", both(id, withOptions("", OptScene, "scene_v1", OptMap, "p1="+name))))
	if len(e.jobsOf(t, testUser)) > before {
		return true
	}
	wantEphemeral(t, calls, refusal)
	wantEphemeral(t, calls, "no credits were used")
	return false
}

// renderN numbers the interactions of renders.
var renderN int

const (
	waiting  = "the character `Alice` is waiting for approval by this server's moderators"
	rejected = "the character `Alice` was rejected by this server's moderators"
)

// offered reports whether /render's map autocomplete offers the character name to testUser.
func offered(t *testing.T, e *viggleEnv, name string) bool {
	t.Helper()
	cs := choicesOf(t, e.run(t, nil, interaction(t, "autocomplete_render", withOptions(OptMap, OptScene, "scene_v1", OptMap, "p1="))))
	for _, c := range cs {
		if c.Value == "p1="+name {
			return true
		}
	}
	return false
}

func changesOf(t *testing.T, db *store.DB) string {
	t.Helper()
	cs, err := db.RecentChanges(t.Context(), testGuild, 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.ActorID+": "+c.What)
	}
	return strings.Join(out, "\n")
}

func TestApprovalHoldsANewCharacterUntilAModeratorApproves(t *testing.T) {
	e := moderationEnv(t, true)
	content, calls := createHeld(t, e, "Alice")
	if !strings.Contains(content, "waits for a moderator's approval before it can be used") || !strings.Contains(content, "asked in <#"+modlogChannel+">") ||
		strings.Contains(content, "char_") {
		t.Errorf("owner's reply:\n%s", content)
	}
	c := characterNamed(t, e.db, testUser, "Alice")
	if c.Review != store.ReviewPending || c.Status != store.StatusReady {
		t.Fatalf("character %+v, want ready and pending", c)
	}

	// The modlog post: name, owner (not pinged), thumbnail, Approve / Reject.
	posts := modlogPosts(calls)
	if len(posts) != 1 {
		t.Fatalf("calls %s, want one post in the modlog channel", resttest.Kinds(calls))
	}
	var post postedMessage
	if err := posts[0].Decode(&post); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(post.Content, "`Alice` of <@"+testUser+">") || post.AllowedMentions == nil ||
		len(post.AllowedMentions.Parse) != 0 || len(post.AllowedMentions.Users) != 0 {
		t.Errorf("modlog post %s", posts[0].Body)
	}
	if len(post.Embeds) != 1 || post.Embeds[0].Thumbnail == nil || post.Embeds[0].Thumbnail.URL != c.ThumbnailURL || c.ThumbnailURL == "" {
		t.Errorf("modlog post embeds %s, want the thumbnail %q", posts[0].Body, c.ThumbnailURL)
	}
	approve, reject := "review:"+c.ID+":approve", "review:"+c.ID+":reject"
	if got := customIDs(t, post.Components); len(got) != 2 || got[0] != approve || got[1] != reject {
		t.Fatalf("modlog buttons %v, want %s and %s", got, approve, reject)
	}

	// Held: not usable in /render, not offered, but listed (to its owner) as waiting.
	if renders(t, e, "alice", waiting) || renders(t, e, c.ViggleID, waiting) || offered(t, e, "Alice") {
		t.Fatal("a pending character is usable")
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubList, ""))),
		"• **Alice** — ready · waiting for a moderator's approval")

	// A member without Manage Server cannot decide, even with the buttons in front of them.
	wantEphemeral(t, e.run(t, nil, click(t, post, approve, asUser(otherUser))), "You need the Manage Server permission")
	if got := characterNamed(t, e.db, testUser, "Alice"); got.Review != store.ReviewPending {
		t.Fatalf("review %q after a refused click", got.Review)
	}

	// A moderator approves: the post shows who decided, without buttons; the character is usable.
	calls = e.run(t, nil, click(t, post, approve, asModerator(otherUser)))
	if len(calls) != 1 {
		t.Fatalf("calls %s, want the update of the post", resttest.Kinds(calls))
	}
	done := updated(t, calls[0])
	if !strings.Contains(done.Content, "**Character approved**") || !strings.Contains(done.Content, "approved by <@"+otherUser+">") ||
		len(done.Components) != 0 || len(done.Embeds) != 1 {
		t.Errorf("approved post %s", calls[0].Body)
	}
	if done.Components == nil {
		t.Error("the update does not send an empty component list: the buttons would stay")
	}
	got := characterNamed(t, e.db, testUser, "Alice")
	if got.Review != "" || got.ReviewedBy != otherUser || got.ReviewedAt.IsZero() {
		t.Fatalf("approved character %+v", got)
	}
	if !renders(t, e, "alice", "") || !renders(t, e, c.ViggleID, "") || !offered(t, e, "Alice") {
		t.Fatal("an approved character is not usable")
	}

	// A second click (the stale post, another moderator) changes nothing and says so.
	calls = e.run(t, nil, click(t, post, reject, asModerator("400000000000000003")))
	if len(calls) != 2 || calls[1].Kind != resttest.KindFollowup {
		t.Fatalf("calls %s, want the post updated and a private note", resttest.Kinds(calls))
	}
	if again := updated(t, calls[0]); !strings.Contains(again.Content, "approved by <@"+otherUser+">") || len(again.Components) != 0 {
		t.Errorf("stale post updated to %s", calls[0].Body)
	}
	var note discordgo.WebhookParams
	if err := calls[1].Decode(&note); err != nil {
		t.Fatal(err)
	}
	if note.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(note.Content, "Already decided") {
		t.Errorf("note %s", calls[1].Body)
	}
	if got := characterNamed(t, e.db, testUser, "Alice"); got.Review != "" {
		t.Fatalf("review %q after a second click", got.Review)
	}

	want := otherUser + ": approved character Alice of <@" + testUser + ">"
	if log := changesOf(t, e.db); !strings.HasPrefix(log, want+"\n") || strings.Count(log, "character Alice") != 1 {
		t.Errorf("change log:\n%s\nwant it to start with %q, once", log, want)
	}
}

func TestRejectedCharacterStaysUnusable(t *testing.T) {
	e := moderationEnv(t, true)
	_, calls := createHeld(t, e, "Alice")
	c := characterNamed(t, e.db, testUser, "Alice")
	var post postedMessage
	if err := modlogPosts(calls)[0].Decode(&post); err != nil {
		t.Fatal(err)
	}
	calls = e.run(t, nil, click(t, post, "review:"+c.ID+":reject", asModerator(otherUser)))
	done := updated(t, calls[0])
	if !strings.Contains(done.Content, "**Character rejected**") || len(done.Components) != 0 || done.Embeds == nil || len(done.Embeds) != 0 {
		t.Errorf("rejected post %s, want no buttons and no photo", calls[0].Body)
	}
	if got := characterNamed(t, e.db, testUser, "Alice"); got.Review != store.ReviewRejected || got.ReviewedBy != otherUser {
		t.Fatalf("rejected character %+v", got)
	}
	if renders(t, e, "alice", rejected) || renders(t, e, c.ViggleID, rejected) || offered(t, e, "Alice") {
		t.Fatal("a rejected character is usable")
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubList, ""))), "• **Alice** — ready · rejected")
	if log := changesOf(t, e.db); !strings.HasPrefix(log, otherUser+": rejected character Alice of <@"+testUser+">") {
		t.Errorf("change log:\n%s", log)
	}
	// Its owner deletes it, which frees the name.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "alice"))), "`Alice` is deleted")
	if list, _ := e.db.ListCharacters(t.Context(), testUser, testGuild); len(list) != 0 {
		t.Fatalf("characters after the delete: %v", list)
	}
}

func TestApprovalWithoutModlogIsReviewedInConfigView(t *testing.T) {
	e := moderationEnv(t, false)
	content, calls := createHeld(t, e, "Alice")
	if !strings.Contains(content, "approve it in /config view") || len(modlogPosts(calls)) != 0 {
		t.Fatalf("reply:\n%s\ncalls %s", content, resttest.Kinds(calls))
	}
	createHeld(t, e, "Zed")
	alice, zed := characterNamed(t, e.db, testUser, "Alice"), characterNamed(t, e.db, testUser, "Zed")

	// /config view lists both with their buttons.
	edit := privateMessage(t, e.run(t, nil, interaction(t, "character_create", both(configCmd(SubView), asModerator(otherUser)))))
	view := edit.Content
	if !strings.Contains(view, "**Characters waiting for approval**\n• `Alice` of <@"+testUser+">") || !strings.Contains(view, "• `Zed` of") {
		t.Errorf("/config view:\n%s", view)
	}
	ids := customIDs(t, edit.Components)
	if len(ids) != 4 || ids[0] != "review:"+alice.ID+":approve" || ids[3] != "review:"+zed.ID+":reject" {
		t.Fatalf("/config view buttons %v", ids)
	}

	// Approve in the private view: Alice's row goes, Zed's stays, and a private note says what happened.
	calls = e.run(t, nil, click(t, edit, ids[0], asModerator(otherUser)))
	if len(calls) != 2 || calls[1].Kind != resttest.KindFollowup {
		t.Fatalf("calls %s, want the view updated and a private note", resttest.Kinds(calls))
	}
	left := updated(t, calls[0])
	if got := customIDs(t, left.Components); len(got) != 2 || got[0] != "review:"+zed.ID+":approve" || left.Content != edit.Content {
		t.Errorf("view after the decision: %s", calls[0].Body)
	}
	var note discordgo.WebhookParams
	if err := calls[1].Decode(&note); err != nil {
		t.Fatal(err)
	}
	if note.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(note.Content, "`Alice` of <@"+testUser+"> was approved by <@"+otherUser+">") {
		t.Errorf("note %s", calls[1].Body)
	}
	if !renders(t, e, "alice", "") || renders(t, e, "zed", "the character `Zed` is waiting for approval") {
		t.Fatal("Alice approved and Zed pending are not usable and unusable")
	}
}

func TestCharacterCreateWithoutApprovalIsNotHeld(t *testing.T) {
	e := newViggleEnv(t)
	content, _ := deferredThenEdit(t, e.run(t, nil, interaction(t, "character_create", nil)), true)
	if !strings.Contains(content, "is ready") || strings.Contains(content, "approval") {
		t.Errorf("reply:\n%s", content)
	}
	if c := characterNamed(t, e.db, testUser, "Alice"); c.Review != "" {
		t.Errorf("review %q without approval", c.Review)
	}
}

func TestConfigCharactersAndModlogNeedManageServer(t *testing.T) {
	e := newViggleEnv(t)
	// The handlers check too, also on a route without the permission.
	bare, _ := testRouter(t, e.eng, &Catalogued{DB: e.db}, nil, []Route{})
	bare.setRoutes([]Route{{Name: CmdConfig + " " + SubCharacters, Handle: bare.configCharacters}, {Name: CmdConfig + " " + SubModlog, Handle: bare.configModlog}})
	for _, sub := range []func(map[string]any){configCmd(SubCharacters, OptApproval, true), configCmd(SubModlog, OptChannel, modlogChannel)} {
		wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", sub)), "Manage Server")
		rest := resttest.New()
		bare.HandleInteraction(t.Context(), rest, interaction(t, "character_create", sub), 0)
		wantEphemeral(t, rest.Calls(), "Manage Server")
	}
	s, err := e.db.GuildSettings(t.Context(), testGuild)
	if err != nil || s.Approval || s.ModlogChannelID != "" {
		t.Fatalf("settings %+v, %v after refusals", s, err)
	}
	// Set, then cleared: both in the change log.
	e.run(t, nil, interaction(t, "character_create", both(configCmd(SubModlog, OptChannel, modlogChannel), asModerator(otherUser))))
	e.run(t, nil, interaction(t, "character_create", both(configCmd(SubModlog), asModerator(otherUser))))
	e.run(t, nil, interaction(t, "character_create", both(configCmd(SubCharacters, OptApproval, true), asModerator(otherUser))))
	e.run(t, nil, interaction(t, "character_create", both(configCmd(SubCharacters, OptApproval, true), asModerator(otherUser)))) // unchanged: not logged
	want := otherUser + ": character approval on\n" + otherUser + ": modlog channel cleared\n" + otherUser + ": modlog channel <#" + modlogChannel + ">"
	if log := changesOf(t, e.db); log != want {
		t.Errorf("change log:\n%s\nwant:\n%s", log, want)
	}
}

func TestModeratorDeletesAnotherMembersSharedCharacter(t *testing.T) {
	e := newViggleEnv(t)
	addCharacter(t, e.db, otherUser, "Bob", "char_b", true, store.StatusReady)
	addCharacter(t, e.db, testUser, "Alice", "char_a", true, store.StatusReady)
	bob := characterID(t, e.db, "char_b")
	del := subcommand(CmdCharacter, SubDelete, "", OptName, "bob")

	// Without Manage Server: today's refusal, nothing logged.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", del)), "shared here by another member")
	// With it: deleted, and logged.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(del, permissions(manageServer)))),
		"`Bob` of <@"+otherUser+"> is deleted (this is in the server's change log)")
	if _, err := e.db.GetCharacter(t.Context(), bob); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("Bob still exists")
	}
	// A character shared here is logged whoever deletes it, its owner too; a private one is not.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(subcommand(CmdCharacter, SubDelete, "", OptName, "Alice"), permissions(manageServer)))), "`Alice` is deleted")
	addCharacter(t, e.db, testUser, "Private", "char_p", false, store.StatusReady)
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "Private"))), "`Private` is deleted")
	if log := changesOf(t, e.db); log != testUser+": deleted character Alice of <@"+testUser+">\n"+testUser+": deleted character Bob of <@"+otherUser+">" {
		t.Errorf("change log:\n%s", log)
	}
	// A deleted character's Viggle id, which members may have seen, cannot be rendered with any more.
	wantEphemeral(t, e.run(t, nil, interaction(t, "render", withOptions("", OptScene, "scene_demo", OptMap, "person_a=char_b"))), "was deleted")
}

// characterID is the bot's id of the character with Viggle id vid.
func characterID(t *testing.T, db *store.DB, vid string) string {
	t.Helper()
	c, err := db.CharacterByViggleID(t.Context(), vid)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestHeldCharactersOfOthersAreNotListed(t *testing.T) {
	e := moderationEnv(t, false)
	// otherUser's character, held, then shared: testUser sees neither it nor its photo.
	calls := e.run(t, nil, interaction(t, "character_create", both(withName("Bob"), asUser(otherUser))))
	deferredThenEdit(t, calls, true)
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(subcommand(CmdCharacter, SubShare, "", OptName, "bob"), asUser(otherUser)))), "shared")
	calls = e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubList, "")))
	wantEphemeral(t, calls, "You have no characters yet")
	// A moderator may still delete it (it is shared here); the deletion is logged.
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", both(subcommand(CmdCharacter, SubDelete, "", OptName, "bob"), permissions(manageServer)))), "is deleted")
	if log := changesOf(t, e.db); !strings.HasPrefix(log, testUser+": deleted character Bob of <@"+otherUser+">") {
		t.Errorf("change log:\n%s", log)
	}
}

func TestReviewOfADeletedCharacter(t *testing.T) {
	e := moderationEnv(t, true)
	_, calls := createHeld(t, e, "Alice")
	c := characterNamed(t, e.db, testUser, "Alice")
	var post postedMessage
	if err := modlogPosts(calls)[0].Decode(&post); err != nil {
		t.Fatal(err)
	}
	wantEphemeral(t, e.run(t, nil, interaction(t, "character_create", subcommand(CmdCharacter, SubDelete, "", OptName, "alice"))), "is deleted")
	calls = e.run(t, nil, click(t, post, "review:"+c.ID+":approve", asModerator(otherUser)))
	if len(calls) != 2 {
		t.Fatalf("calls %s, want an update and a note", resttest.Kinds(calls))
	}
	if m := updated(t, calls[0]); !strings.Contains(m.Content, "deleted") || len(m.Components) != 0 || len(m.Embeds) != 0 {
		t.Errorf("post of a deleted character %s", calls[0].Body)
	}
}

func TestReviewIDParses(t *testing.T) {
	for _, id := range []string{"review:abc234:approve", "review:abc234:reject"} {
		prefix, rest, _ := strings.Cut(id, idSep)
		if prefix != reviewID.Prefix {
			t.Fatal(prefix)
		}
		if _, err := reviewID.parse(rest); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, rest := range []string{"abc234:maybe", "abc234", ":approve", "a b:approve"} {
		if _, err := reviewID.parse(rest); err == nil {
			t.Errorf("review:%s parsed", rest)
		}
	}
	c := &store.Character{ID: store.NewID(), Name: strings.Repeat("n", maxNameLength)}
	for _, b := range reviewButtons(c, true).Components {
		btn := b.(discordgo.Button)
		if runes(btn.Label) > maxLabel || len(btn.CustomID) > maxCustomID {
			t.Errorf("button %+v over the limits", btn)
		}
	}
}

func TestHeldRefusalNamesAPendingOrRejectedCharacter(t *testing.T) {
	e := moderationEnv(t, false)
	createHeld(t, e, "Alice")
	alice := characterNamed(t, e.db, testUser, "Alice")
	ctx := t.Context()
	for _, value := range []string{"alice", alice.ViggleID} {
		why, err := e.r.heldRefusal(ctx, testUser, testGuild, value)
		if err != nil || !strings.Contains(why, "`Alice` is waiting for approval") {
			t.Errorf("heldRefusal(%q) = %q, %v", value, why, err)
		}
	}
	if _, err := e.db.ReviewCharacter(ctx, alice.ID, otherUser, false, store.Change{ActorID: otherUser, What: "rejected character Alice"}); err != nil {
		t.Fatal(err)
	}
	if why, err := e.r.heldRefusal(ctx, testUser, testGuild, alice.ViggleID); err != nil || !strings.Contains(why, "`Alice` was rejected") {
		t.Errorf("heldRefusal of a rejected one = %q, %v", why, err)
	}
	// Names of nothing held, and another member's unshared held character, are not held.
	addCharacter(t, e.db, testUser, "Ready", "char_r", false, store.StatusReady)
	for _, c := range []struct{ owner, value string }{{testUser, "ready"}, {testUser, "zed"}, {testUser, "char_zzz"}, {otherUser, "alice"}} {
		if why, err := e.r.heldRefusal(ctx, c.owner, testGuild, c.value); err != nil || why != "" {
			t.Errorf("heldRefusal(%s, %q) = %q, %v; want none", c.owner, c.value, why, err)
		}
	}
}
