package commands

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/resttest"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
)

// interaction loads testdata/<name>.json (an INTERACTION_CREATE's "d" as Discord sends it), after edit
// has changed its decoded JSON (may be nil).
func interaction(t testing.TB, name string, edit func(d map[string]any)) *discordgo.Interaction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		edit(d)
		if b, err = json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(b, &i); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &i
}

// customID sets a component's or modal's custom id.
func customID(id string) func(map[string]any) {
	return func(d map[string]any) { d["data"].(map[string]any)["custom_id"] = id }
}

// permissions sets the member's permissions.
func permissions(p string) func(map[string]any) {
	return func(d map[string]any) { d["member"].(map[string]any)["permissions"] = p }
}

// asUser makes another member send the interaction.
func asUser(id string) func(map[string]any) {
	return func(d map[string]any) { d["member"].(map[string]any)["user"].(map[string]any)["id"] = id }
}

// testRouter is a router with a logger the test reads; routes replaces the bot's table when given.
func testRouter(t testing.TB, eng Engine, st Store, owners []string, routes []Route) (*Router, *testkit.SyncBuffer) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	r := NewHandler(eng, st, slogTo(logs), nil, owners)
	if routes != nil {
		r.setRoutes(routes)
	}
	return r, logs
}

// answer is one recorded interaction callback, decoded.
func answer(t testing.TB, c resttest.Call) discordgo.InteractionResponse {
	t.Helper()
	if c.Kind != resttest.KindRespond {
		t.Fatalf("%s, want an interaction callback", c)
	}
	resp, err := c.Response()
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// wantEphemeral checks that calls are one ephemeral message containing text.
func wantEphemeral(t testing.TB, calls []resttest.Call, text string) {
	t.Helper()
	if len(calls) != 1 {
		t.Fatalf("calls %s, want one answer", resttest.Kinds(calls))
	}
	a := answer(t, calls[0])
	if a.Type != discordgo.InteractionResponseChannelMessageWithSource || a.Data == nil ||
		a.Data.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(a.Data.Content, text) {
		t.Fatalf("answer %s, want an ephemeral message containing %q", calls[0].Body, text)
	}
}

// sceneDef is a test-only command with a subcommand, for the "scene import" route.
var sceneDef = &discordgo.ApplicationCommand{Name: "scene", Description: "Scenes", Options: []*discordgo.ApplicationCommandOption{
	{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "import", Description: "Import a template", Options: []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionString, Name: "template", Description: "Template", Autocomplete: true},
	}},
}}

var formID = CustomID{Prefix: "sceneform", Args: []IDArg{{"job", ArgJob}}}

// recorder returns a handler that records what reached it and answers text.
func recorder(got *[]string, text string) Handler {
	return func(_ context.Context, e *Event) (*Response, error) {
		what := e.Route.Name
		switch {
		case e.Focused != "":
			what += " /" + e.Focused + "=" + e.Options.String(e.Focused)
		case e.Args.id != nil:
			what += " " + e.Args.String("job")
		case len(e.Options) > 0:
			what += " " + e.Options[0].Name + "=" + e.Options.String(e.Options[0].Name)
		}
		*got = append(*got, what)
		if e.Focused != "" {
			return &Response{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
				Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "Dance", Value: "dance"}}}, nil
		}
		return ephemeralText(text), nil
	}
}

func TestRouting(t *testing.T) {
	var got []string
	routes := []Route{
		{Name: "scene import", Def: sceneDef, Handle: recorder(&got, "imported"),
			Autocomplete: map[string]Handler{"template": recorder(&got, "")}},
		{Name: CmdRender, Handle: recorder(&got, "render")}, // no autocomplete: the fallback answers
		{Kind: RouteComponent, ID: cancelID, Handle: recorder(&got, "cancel")},
		{Kind: RouteModal, ID: formID, Handle: recorder(&got, "form")},
	}
	cases := []struct {
		name, file string
		edit       func(map[string]any)
		want       string // what reached a handler ("" none)
		check      func(t *testing.T, a discordgo.InteractionResponse)
	}{
		{"subcommand", "scene_import", nil, "scene import template=https://viggle.ai/t/abc", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Data.Content != "imported" {
				t.Errorf("content %q", a.Data.Content)
			}
		}},
		{"autocomplete of an option", "autocomplete_scene_import", nil, "scene import /template=dan", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(a.Data.Choices) != 1 || a.Data.Choices[0].Name != "Dance" {
				t.Errorf("choices %+v", a.Data)
			}
		}},
		{"autocomplete without a handler", "autocomplete_render", nil, "", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Type != discordgo.InteractionApplicationCommandAutocompleteResult || a.Data == nil || len(a.Data.Choices) != 0 {
				t.Errorf("want an empty list at once, got %+v", a)
			}
		}},
		{"component", "component", nil, "cancel abcdefghjk", nil},
		{"modal", "modal", nil, "sceneform abcdefghjk", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Data.Content != "form" {
				t.Errorf("content %q", a.Data.Content)
			}
		}},
		{"unknown command", "jobs", nil, "", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Data.Content != unknownCommand || a.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
				t.Errorf("answer %+v", a.Data)
			}
		}},
		{"unknown modal", "modal", customID("otherform:abc"), "", func(t *testing.T, a discordgo.InteractionResponse) {
			if a.Data.Content != olderVersionText {
				t.Errorf("answer %+v", a.Data)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r, _ := testRouter(t, nil, nil, nil, routes)
			rest := resttest.New()
			r.HandleInteraction(t.Context(), rest, interaction(t, c.file, c.edit), 0)
			if w := strings.Join(got, ""); w != c.want {
				t.Fatalf("reached %q, want %q", w, c.want)
			}
			calls := rest.Calls()
			if len(calls) != 1 {
				t.Fatalf("calls %s, want one answer", resttest.Kinds(calls))
			}
			if c.check != nil {
				c.check(t, answer(t, calls[0]))
			}
		})
	}
	if defs := definitions(routes); len(defs) != 1 || defs[0] != sceneDef {
		t.Errorf("definitions of the test table: %v", defs)
	}
}

func TestDefinitionsAreUnchanged(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "definitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(Definitions(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Fatalf("Definitions() changed; got\n%s", got)
	}
}

func TestCustomIDs(t *testing.T) {
	// Today's three formats, as buttons already posted carry them, and what the views build.
	for _, id := range []string{"cancel:abcdefghjk", "retry:abcdefghjk", "jobs:400000000000000001:done:2",
		"jobs:400000000000000001::0", "jobs:400000000000000001:failed:-1",
		cancelID.build("k2m3n4p5q6"), pageID.build("400000000000000001", "", "3")} {
		var got []string
		routes := []Route{
			{Kind: RouteComponent, ID: cancelID, Handle: recorder(&got, "")},
			{Kind: RouteComponent, ID: retryID, Handle: recorder(&got, "")},
			{Kind: RouteComponent, ID: pageID, Handle: recorder(&got, "")},
		}
		r, _ := testRouter(t, nil, nil, nil, routes)
		r.HandleInteraction(t.Context(), resttest.New(), interaction(t, "component", customID(id)), 0)
		prefix, _, _ := strings.Cut(id, ":")
		if len(got) != 1 || !strings.HasPrefix(got[0], prefix) {
			t.Errorf("%s reached %q", id, got)
		}
	}
	args, err := pageID.parse("400000000000000001:running:4")
	if err != nil || args.String("owner") != "400000000000000001" || args.String("status") != "running" || args.Int("page") != 4 {
		t.Errorf("typed arguments: %+v %v", args, err)
	}
	// Ids of another shape: an older (or foreign) button.
	for _, id := range []string{"cancel", "cancel:", "cancel:abc:def", "cancel:abc def", "retry:", "jobs:42:bogus:1",
		"jobs:42:done:x", "jobs:abc:done:1", "jobs:42:done", "nope:abcdefghjk", "", "thing:abcdefghjk:1"} {
		r, _ := testRouter(t, nil, nil, nil, nil)
		rest := resttest.New()
		r.HandleInteraction(t.Context(), rest, interaction(t, "component", customID(id)), 0)
		wantEphemeral(t, rest.Calls(), olderVersionText)
	}
}

func TestPermissions(t *testing.T) {
	const owner, other = "400000000000000001", "400000000000000009"
	var got []string
	routes := []Route{
		{Name: "scene import", Def: sceneDef, Perm: PermManageGuild, Handle: recorder(&got, "imported"),
			Autocomplete: map[string]Handler{"template": recorder(&got, "")}},
		{Kind: RouteComponent, ID: cancelID, Perm: PermOwners, Handle: recorder(&got, "owner thing")},
	}
	cases := []struct {
		name, file string
		edit       func(map[string]any)
		allowed    bool
		refusal    string
	}{
		{"no Manage Server", "scene_import", permissions("2147601408"), false, "Manage Server"},
		{"no permissions at all", "scene_import", permissions("0"), false, "Manage Server"},
		{"Manage Server", "scene_import", permissions("32"), true, ""},
		{"Administrator implies it", "scene_import", permissions("8"), true, ""},
		{"no member (a DM)", "scene_import", func(d map[string]any) {
			d["user"] = d["member"].(map[string]any)["user"]
			delete(d, "member")
			delete(d, "guild_id")
		}, false, "Manage Server"},
		{"owner", "component", asUser(owner), true, ""},
		{"not an owner", "component", asUser(other), false, "owners"},
		{"not an owner, even an admin", "component", func(d map[string]any) { asUser(other)(d); permissions("8")(d) }, false, "owners"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			r, logs := testRouter(t, nil, nil, []string{owner}, routes)
			rest := resttest.New()
			r.HandleInteraction(t.Context(), rest, interaction(t, c.file, c.edit), 0)
			if (len(got) == 1) != c.allowed {
				t.Fatalf("handler reached: %v, want %v", got, c.allowed)
			}
			if !c.allowed {
				wantEphemeral(t, rest.Calls(), c.refusal)
				if !strings.Contains(logs.String(), "outcome=refused") {
					t.Errorf("log:\n%s", logs)
				}
			}
		})
	}
	// An autocomplete the member may not use suggests nothing.
	got = nil
	r, _ := testRouter(t, nil, nil, nil, routes)
	rest := resttest.New()
	r.HandleInteraction(t.Context(), rest, interaction(t, "autocomplete_scene_import", permissions("0")), 0)
	if a := answer(t, rest.Calls()[0]); len(got) != 0 || a.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(a.Data.Choices) != 0 {
		t.Fatalf("refused autocomplete reached %v, answered %+v", got, a)
	}
}

func TestErrorSinkAndPanicRecovery(t *testing.T) {
	cause := errors.New("disk on fire")
	cases := []struct {
		name     string
		h        Handler
		file     string
		want     string // the sentence the user reads
		log, out string
	}{
		{"error", func(context.Context, *Event) (*Response, error) { return nil, cause }, "scene_import", internalError, "disk on fire", "outcome=error"},
		{"error with a sentence", func(context.Context, *Event) (*Response, error) { return nil, tell("I could not do it.", cause) },
			"scene_import", "I could not do it.", "disk on fire", "outcome=error"},
		{"panic", func(context.Context, *Event) (*Response, error) { panic("boom") }, "scene_import", PanicReply, "panicked", "outcome=panic"},
		{"panic in a component", func(context.Context, *Event) (*Response, error) { panic("boom") }, "component", PanicReply, "boom", "outcome=panic"},
		{"panic in an autocomplete", func(context.Context, *Event) (*Response, error) { panic("boom") }, "autocomplete_scene_import", "", "boom", "outcome=panic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := []Route{
				{Name: "scene import", Handle: c.h, Autocomplete: map[string]Handler{"template": c.h}},
				{Kind: RouteComponent, ID: cancelID, Handle: c.h},
			}
			r, logs := testRouter(t, nil, nil, nil, routes)
			rest := resttest.New()
			i := interaction(t, c.file, nil)
			r.HandleInteraction(t.Context(), rest, i, 0)
			if c.want == "" {
				if a := answer(t, rest.Calls()[0]); a.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(a.Data.Choices) != 0 {
					t.Fatalf("autocomplete answered %+v", a)
				}
			} else {
				wantEphemeral(t, rest.Calls(), c.want)
			}
			l := logs.String()
			if !strings.Contains(l, c.log) || !strings.Contains(l, c.out) || strings.Contains(l, i.Token) {
				t.Fatalf("log (want %q and %q, never the token):\n%s", c.log, c.out, l)
			}
			if n := strings.Count(l, "msg=interaction "); n != 1 {
				t.Fatalf("%d interaction lines, want 1:\n%s", n, l)
			}
		})
	}
}

// TestAutoDeferral: a handler that has not answered by the deadline gets its interaction deferred (as
// its route says), and its late answer edits the deferred message.
func TestAutoDeferral(t *testing.T) {
	cases := []struct {
		name      string
		route     Route
		file      string
		answer    *Response
		deferType discordgo.InteractionResponseType
		ephemeral bool
		late      string // the late answer's calls
	}{
		{"command", Route{Name: "scene import"}, "scene_import", &Response{Content: "done"},
			discordgo.InteractionResponseDeferredChannelMessageWithSource, false, "request PATCH"},
		{"ephemeral command", Route{Name: "scene import", Defer: DeferEphemeral}, "scene_import", ephemeralText("done"),
			discordgo.InteractionResponseDeferredChannelMessageWithSource, true, "request PATCH"},
		{"private answer after a public deferral", Route{Name: "scene import"}, "scene_import", ephemeralText("done"),
			discordgo.InteractionResponseDeferredChannelMessageWithSource, false, "followup POST, request DELETE"},
		{"component update", Route{Kind: RouteComponent, ID: cancelID}, "component",
			&Response{Type: discordgo.InteractionResponseUpdateMessage, Content: "done"},
			discordgo.InteractionResponseDeferredMessageUpdate, false, "request PATCH"},
		{"component message", Route{Kind: RouteComponent, ID: cancelID}, "component", ephemeralText("done"),
			discordgo.InteractionResponseDeferredMessageUpdate, false, "followup POST"},
		{"modal", Route{Kind: RouteModal, ID: formID}, "modal", ephemeralText("done"),
			discordgo.InteractionResponseDeferredChannelMessageWithSource, false, "followup POST, request DELETE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			c.route.Handle = func(ctx context.Context, e *Event) (*Response, error) {
				<-release
				return c.answer, nil
			}
			r, logs := testRouter(t, nil, nil, nil, []Route{c.route})
			r.deferAfter = 10 * time.Millisecond
			rest := resttest.New()
			done := make(chan struct{})
			go func() {
				r.HandleInteraction(t.Context(), rest, interaction(t, c.file, nil), 0)
				close(done)
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			calls, err := rest.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			a := answer(t, calls[0])
			eph := a.Data != nil && a.Data.Flags&discordgo.MessageFlagsEphemeral != 0
			if a.Type != c.deferType || eph != c.ephemeral {
				t.Fatalf("deferral %s, want type %d ephemeral %v", calls[0].Body, c.deferType, c.ephemeral)
			}
			close(release)
			<-done
			calls = rest.Calls()
			if got := resttest.Kinds(calls[1:]); got != c.late {
				t.Fatalf("late answer: %s, want %s", got, c.late)
			}
			var body struct {
				Content string `json:"content"`
				Flags   int    `json:"flags"`
			}
			if err := calls[1].Decode(&body); err != nil || body.Content != "done" {
				t.Fatalf("late answer body %s", calls[1].Body)
			}
			if calls[1].Kind == resttest.KindFollowup && c.answer.Ephemeral && body.Flags&64 == 0 {
				t.Fatalf("a private late answer went out public: %s", calls[1].Body)
			}
			if !strings.Contains(logs.String(), "auto_deferred=true") {
				t.Errorf("log:\n%s", logs)
			}
		})
	}
	// A handler that answers in time is not deferred.
	r, _ := testRouter(t, nil, nil, nil, []Route{{Name: "scene import", Handle: func(context.Context, *Event) (*Response, error) {
		return ephemeralText("quick"), nil
	}}})
	rest := resttest.New()
	r.HandleInteraction(t.Context(), rest, interaction(t, "scene_import", nil), 0)
	wantEphemeral(t, rest.Calls(), "quick")
}

func TestLogLineNeverHasTheToken(t *testing.T) {
	r, logs := testRouter(t, nil, nil, nil, []Route{{Name: "scene import", Handle: func(context.Context, *Event) (*Response, error) {
		return ephemeralText("hi"), nil
	}}})
	rest := resttest.New()
	rest.FailKind(resttest.KindRespond, 500, 0)
	i := interaction(t, "scene_import", nil)
	r.HandleInteraction(t.Context(), rest, i, 0)
	l := logs.String()
	if strings.Count(l, "msg=interaction ") != 1 || !strings.Contains(l, "route=\"scene import\"") || !strings.Contains(l, "outcome=\"not answered\"") ||
		!strings.Contains(l, "duration=") || strings.Contains(l, i.Token) {
		t.Fatalf("log:\n%s", l)
	}
}
