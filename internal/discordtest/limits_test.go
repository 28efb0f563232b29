package discordtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Discord's message limits, end to end through real HTTP: every endpoint that creates or edits a
// message accepts a body at each limit and refuses one a character (or an entry) over it with 400 /
// 50035 naming the field, and a refused body creates or changes nothing.

// runes returns n code points that take more bytes than n (so that a count of bytes would refuse them).
func runes(n int) string { return strings.Repeat("é", n) }

func button(label, id string) map[string]any {
	return map[string]any{"type": 2, "style": 1, "label": label, "custom_id": id}
}

func actionRow(kids ...any) map[string]any { return map[string]any{"type": 1, "components": kids} }

// buttons returns n buttons with ids prefix0…
func buttons(prefix string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = button("b", fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func fields(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "n", "value": "v"}
	}
	return out
}

// limitCase is one limit: a body at it, a body just over it, and the error the over one gets.
type limitCase struct {
	name     string
	at, over map[string]any
	path     []string // of the field error, without the "data" of a callback
	message  string
}

func messageLimits() []limitCase {
	embed := func(e map[string]any) map[string]any { return map[string]any{"embeds": []any{e}} }
	withRows := func(rows ...any) map[string]any { return map[string]any{"content": "x", "components": rows} }
	rows := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = actionRow(button("b", fmt.Sprintf("r%d", i)))
		}
		return out
	}
	embeds := func(n int) map[string]any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"description": "d"}
		}
		return map[string]any{"embeds": out}
	}
	// 256 + 4096 + (24 + 1024) + (1 + 599) = 6000 code points in all.
	total := func(last int) map[string]any {
		return embed(map[string]any{"title": runes(256), "description": runes(4096), "fields": []any{
			map[string]any{"name": runes(24), "value": runes(1024)},
			map[string]any{"name": "n", "value": runes(last)},
		}})
	}
	return []limitCase{
		{"content", map[string]any{"content": runes(2000)}, map[string]any{"content": runes(2001)},
			[]string{"content"}, "Must be 2000 or fewer in length."},
		{"embed description", embed(map[string]any{"description": runes(4096)}), embed(map[string]any{"description": runes(4097)}),
			[]string{"embeds", "0", "description"}, "Must be 4096 or fewer in length."},
		{"embed title", embed(map[string]any{"title": runes(256)}), embed(map[string]any{"title": runes(257)}),
			[]string{"embeds", "0", "title"}, "Must be 256 or fewer in length."},
		{"field name", embed(map[string]any{"fields": []any{map[string]any{"name": runes(256), "value": "v"}}}),
			embed(map[string]any{"fields": []any{map[string]any{"name": runes(257), "value": "v"}}}),
			[]string{"embeds", "0", "fields", "0", "name"}, "Must be 256 or fewer in length."},
		{"field value", embed(map[string]any{"fields": []any{map[string]any{"name": "n", "value": runes(1024)}}}),
			embed(map[string]any{"fields": []any{map[string]any{"name": "n", "value": runes(1025)}}}),
			[]string{"embeds", "0", "fields", "0", "value"}, "Must be 1024 or fewer in length."},
		{"embed total", total(599), total(600), []string{"embeds"}, "Embed size exceeds maximum size of 6000"},
		{"fields", embed(map[string]any{"fields": fields(25)}), embed(map[string]any{"fields": fields(26)}),
			[]string{"embeds", "0", "fields"}, "Must be 25 or fewer in length."},
		{"embeds", embeds(10), embeds(11), []string{"embeds"}, "Must be 10 or fewer in length."},
		{"button label", withRows(actionRow(button(runes(80), "b"))), withRows(actionRow(button(runes(81), "b"))),
			[]string{"components", "0", "components", "0", "label"}, "Must be 80 or fewer in length."},
		{"custom_id", withRows(actionRow(button("b", runes(100)))), withRows(actionRow(button("b", runes(101)))),
			[]string{"components", "0", "components", "0", "custom_id"}, "Must be 100 or fewer in length."},
		{"action rows", withRows(rows(5)...), withRows(rows(6)...), []string{"components"}, "Must be 5 or fewer in length."},
		{"components in a row", withRows(actionRow(buttons("c", 5)...)), withRows(actionRow(buttons("c", 6)...)),
			[]string{"components", "0", "components"}, "Must be 5 or fewer in length."},
	}
}

// sender sends a message body (as JSON, or as the payload_json of a multipart body with one file) to
// one endpoint and returns the answer.
type sender func(body map[string]any, multipart bool) (int, any)

// limitEndpoint is an endpoint that creates or edits a message. open prepares a target (a new
// interaction, for callbacks) and returns how to send to it and a description of the state a request
// to it may change.
type limitEndpoint struct {
	name string
	data bool // errors are under "data" (interaction callbacks)
	open func(t *testing.T) (sender, func() string)
}

func limitEndpoints(fake *Server, base string) []limitEndpoint {
	send := func(t *testing.T, method, path, auth string, wrap func(map[string]any) map[string]any) sender {
		return func(body map[string]any, mp bool) (int, any) {
			payload := wrap(body)
			if mp {
				status, _, out := call(t, base, method, path, multi(t, payload, File{Name: "a.txt", Data: []byte("a")}), auth)
				return status, out
			}
			status, _, out := call(t, base, method, path, payload, auth)
			return status, out
		}
	}
	plain := func(b map[string]any) map[string]any { return b }
	callback := func(typ int) func(map[string]any) map[string]any {
		return func(b map[string]any) map[string]any { return map[string]any{"type": typ, "data": b} }
	}
	describe := func(v ...any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return err.Error()
		}
		return string(b)
	}
	original := func(id string) string {
		m, _ := fake.Original(id)
		return describe(fake.Acknowledged(id), m)
	}
	// answered is an interaction answered with type 4, for the webhook routes.
	answered := func(t *testing.T) *Interaction {
		in := interact(t, fake, base, SlashCommand{Name: "x"})
		if status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 4, "data": map[string]any{"content": "start"}}, ""); status != 204 {
			t.Fatalf("answer = %d %v", status, body)
		}
		return in
	}
	channel := func(id string) func() string {
		return func() string { return describe(fake.ChannelMessages(id)) }
	}
	return []limitEndpoint{
		{name: "callback 4", data: true, open: func(t *testing.T) (sender, func() string) {
			in := interact(t, fake, base, SlashCommand{Name: "x"})
			return send(t, "POST", cbPath(in), "", callback(4)), func() string { return original(in.ID) }
		}},
		{name: "callback 7", data: true, open: func(t *testing.T) (sender, func() string) {
			_, _, body := call(t, base, "POST", "/api/v9/channels/"+DefaultChannelID+"/messages",
				map[string]any{"content": "carrier", "components": []any{actionRow(button("Go", "go"))}}, "-")
			id, _ := body.(map[string]any)["id"].(string)
			in, err := fake.SendComponent(t.Context(), Component{CustomID: "go", MessageID: id})
			if err != nil {
				t.Fatalf("SendComponent: %v", err)
			}
			return send(t, "POST", cbPath(in), "", callback(7)), func() string {
				m, _ := fake.Message(id)
				return describe(fake.Acknowledged(in.ID), m)
			}
		}},
		{name: "follow-up", open: func(t *testing.T) (sender, func() string) {
			in := answered(t)
			return send(t, "POST", hookPath(in, ""), "", plain), func() string {
				return describe(fake.Followups(in.ID), original(in.ID))
			}
		}},
		{name: "follow-up wait", open: func(t *testing.T) (sender, func() string) {
			in := answered(t)
			return send(t, "POST", hookPath(in, "?wait=true"), "", plain), func() string {
				return describe(fake.Followups(in.ID), original(in.ID))
			}
		}},
		{name: "edit original", open: func(t *testing.T) (sender, func() string) {
			in := answered(t)
			return send(t, "PATCH", hookPath(in, "/messages/@original"), "", plain), func() string { return original(in.ID) }
		}},
		{name: "channel message", open: func(t *testing.T) (sender, func() string) {
			return send(t, "POST", "/api/v9/channels/"+DefaultChannelID+"/messages", "-", plain), channel(DefaultChannelID)
		}},
		{name: "DM", open: func(t *testing.T) (sender, func() string) {
			status, _, body := call(t, base, "POST", "/api/v9/users/@me/channels", map[string]any{"recipient_id": DefaultUserID}, "-")
			id, _ := body.(map[string]any)["id"].(string)
			if status != 200 || id == "" {
				t.Fatalf("open DM = %d %v", status, body)
			}
			return send(t, "POST", "/api/v9/channels/"+id+"/messages", "-", plain), channel(id)
		}},
		{name: "channel message edit", open: func(t *testing.T) (sender, func() string) {
			_, _, body := call(t, base, "POST", "/api/v9/channels/"+DefaultChannelID+"/messages", map[string]any{"content": "start"}, "-")
			id, _ := body.(map[string]any)["id"].(string)
			return send(t, "PATCH", "/api/v9/channels/"+DefaultChannelID+"/messages/"+id, "-", plain), func() string {
				m, _ := fake.Message(id)
				return describe(m)
			}
		}},
	}
}

// wantFieldError checks a 50035 answer whose errors name path with code and message.
func wantFieldError(t testing.TB, status int, body any, path []string, code, message string) {
	t.Helper()
	m := wantError(t, status, body, 400, CodeInvalidFormBody)
	if m["message"] != "Invalid Form Body" {
		t.Errorf("message = %v, want Invalid Form Body", m["message"])
	}
	node, _ := m["errors"].(map[string]any)
	for _, p := range path {
		node, _ = node[p].(map[string]any)
	}
	list, _ := node["_errors"].([]any)
	for _, e := range list {
		if e, _ := e.(map[string]any); e["code"] == code && e["message"] == message {
			return
		}
	}
	b, _ := json.Marshal(m["errors"])
	t.Errorf("errors = %s, want %s: [{%s %q}]", b, strings.Join(path, "."), code, message)
}

// drainedGateway identifies a raw gateway client for the whole test and reads (and drops) whatever
// the fake sends it, so that subtests can dispatch as many interactions as they like.
func drainedGateway(t *testing.T, fake *Server, base string) {
	t.Helper()
	c := identified(t, fake, base)
	go func() {
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestMessageLimits(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	drainedGateway(t, fake, base)
	for _, ep := range limitEndpoints(fake, base) {
		t.Run(ep.name, func(t *testing.T) {
			for _, lc := range messageLimits() {
				for _, mp := range []bool{false, true} {
					name := lc.name
					if mp {
						name += " multipart"
					}
					t.Run(name, func(t *testing.T) {
						send, state := ep.open(t)
						before := state()
						status, body := send(lc.over, mp)
						path := lc.path
						if ep.data {
							path = append([]string{"data"}, path...)
						}
						wantFieldError(t, status, body, path, "BASE_TYPE_MAX_LENGTH", lc.message)
						if after := state(); after != before {
							t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
						}
						if status, body := send(lc.at, mp); status/100 != 2 {
							t.Fatalf("at the limit: %d %v", status, body)
						}
						if after := state(); after == before {
							t.Error("a request at the limit changed nothing")
						}
					})
				}
			}
		})
	}
}

func TestAutocompleteLimits(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	drainedGateway(t, fake, base)
	choices := func(n int, name, value string) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"name": fmt.Sprintf("%s%d", name, i), "value": fmt.Sprintf("%s%d", value, i)}
		}
		return out
	}
	for _, lc := range []struct {
		name     string
		at, over []any
		path     []string
		message  string
	}{
		{"choices", choices(25, "n", "v"), choices(26, "n", "v"), []string{"data", "choices"}, "Must be 25 or fewer in length."},
		{"choice name", choices(1, runes(99), "v"), choices(1, runes(100), "v"), []string{"data", "choices", "0", "name"}, "Must be 100 or fewer in length."},
		{"choice value", choices(1, "n", runes(99)), choices(1, "n", runes(100)), []string{"data", "choices", "0", "value"}, "Must be 100 or fewer in length."},
	} {
		t.Run(lc.name, func(t *testing.T) {
			in := interact(t, fake, base, SlashCommand{Name: "x", Options: map[string]any{"q": "ab"}, Focused: "q"})
			if in.Type != InteractionAutocomplete {
				t.Fatalf("interaction type %d, want autocomplete", in.Type)
			}
			status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 8, "data": map[string]any{"choices": lc.over}}, "")
			wantFieldError(t, status, body, lc.path, "BASE_TYPE_MAX_LENGTH", lc.message)
			if got := fake.Acknowledged(in.ID); got != 0 {
				t.Fatalf("a refused result acknowledged the interaction (type %d)", got)
			}
			if status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 8, "data": map[string]any{"choices": lc.at}}, ""); status != 204 {
				t.Fatalf("at the limit: %d %v", status, body)
			}
			if got := fake.Acknowledged(in.ID); got != 8 {
				t.Errorf("acknowledged with %d, want 8", got)
			}
		})
	}
}
