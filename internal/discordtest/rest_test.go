package discordtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
)

// call makes a REST request with the bot token (auth "" sends none, "-"
// sends the default) and decodes the JSON answer.
func call(t testing.TB, base, method, path string, body any, auth string) (int, http.Header, any) {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ct = bytes.NewReader(b.buf.Bytes()), b.ct
	default:
		js, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if auth == "-" {
		auth = "Bot " + testToken
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// wantError checks Discord's error shape.
func wantError(t testing.TB, status int, body any, wantStatus, wantCode int) map[string]any {
	t.Helper()
	m, _ := body.(map[string]any)
	if status != wantStatus || m == nil || m["code"] != float64(wantCode) || m["message"] == "" {
		t.Fatalf("answer %d %v, want %d with code %d", status, body, wantStatus, wantCode)
	}
	return m
}

type multipartBody struct {
	buf bytes.Buffer
	ct  string
}

// multi builds a body as discordgo does: payload_json then files[n].
func multi(t testing.TB, payload any, files ...File) *multipartBody {
	t.Helper()
	mb := &multipartBody{}
	w := multipart.NewWriter(&mb.buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload_json"`)
	h.Set("Content-Type", "application/json")
	p, _ := w.CreatePart(h)
	js, _ := json.Marshal(payload)
	_, _ = p.Write(js)
	for i, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files[%d]"; filename="%s"`, i, f.Name))
		h.Set("Content-Type", "video/mp4")
		p, _ := w.CreatePart(h)
		_, _ = p.Write(f.Data)
	}
	_ = w.Close()
	mb.ct = w.FormDataContentType()
	return mb
}

// interact connects a raw gateway client and dispatches a command.
func interact(t testing.TB, fake *Server, base string, c SlashCommand) *Interaction {
	t.Helper()
	if fake.readyConn() == nil {
		identified(t, fake, base)
		if err := fake.WaitReady(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	in, err := fake.SendCommand(t.Context(), c)
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	return in
}

func cbPath(in *Interaction) string {
	return "/api/v9/interactions/" + in.ID + "/" + in.Token + "/callback"
}

func hookPath(in *Interaction, rest string) string {
	return "/api/v9/webhooks/" + in.ApplicationID + "/" + in.Token + rest
}

func TestAuthAndRouting(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"v9", "GET", "/api/v9/users/@me", "-", 200},
		{"v10", "GET", "/api/v10/users/@me", "-", 200},
		{"no version", "GET", "/api/users/@me", "-", 200},
		{"no token", "GET", "/api/v9/users/@me", "", 401},
		{"bearer", "GET", "/api/v9/users/@me", "Bearer " + testToken, 401},
		{"token without prefix", "GET", "/api/v9/users/@me", testToken, 401},
		{"wrong token", "GET", "/api/v9/users/@me", "Bot other", 401},
		{"gateway without token", "GET", "/api/v9/gateway", "", 200},
		{"gateway bot without token", "GET", "/api/v9/gateway/bot", "", 401},
		{"unknown route", "GET", "/api/v9/nothing/here", "-", 404},
		{"old version", "GET", "/api/v3/users/@me", "-", 404},
		{"wrong method", "DELETE", "/api/v9/gateway", "-", 405},
		{"application", "GET", "/api/v9/oauth2/applications/@me", "-", 200},
		{"other application", "GET", "/api/v9/applications/123/commands", "-", 403},
		{"unknown channel", "GET", "/api/v9/channels/123", "-", 404},
	}
	for _, tt := range tests {
		status, h, body := call(t, base, tt.method, tt.path, nil, tt.auth)
		if status != tt.status {
			t.Errorf("%s: %s %s = %d %v, want %d", tt.name, tt.method, tt.path, status, body, tt.status)
		}
		if m, ok := body.(map[string]any); status >= 400 && (!ok || m["message"] == nil || m["code"] == nil) {
			t.Errorf("%s: error body %v is not Discord's shape", tt.name, body)
		}
		if h.Get("X-RateLimit-Remaining") == "" || h.Get("X-RateLimit-Bucket") == "" {
			t.Errorf("%s: no rate-limit headers", tt.name)
		}
	}
	// Webhook routes work without a bot token.
	in := interact(t, fake, base, SlashCommand{Name: "x"})
	if status, _, _ := call(t, base, "POST", cbPath(in), map[string]any{"type": 5}, ""); status != 204 {
		t.Errorf("callback without token = %d", status)
	}
	if got := len(fake.Requests()); got != len(tests)+1 {
		t.Errorf("recorded %d requests, want %d", got, len(tests)+1)
	}
}

func TestCallbackRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := testkit.NewClock(now)
	advance := clk.Advance
	fake, base := startFake(t, WithLenientCommands(), WithClock(clk.Now), WithStrictAckDeadline())

	in := interact(t, fake, base, SlashCommand{Name: "x"})
	if ts, err := discordgo.SnowflakeTimestamp(in.ID); err != nil || !ts.Equal(now) {
		t.Errorf("snowflake time = %v, want the clock %v", ts, now)
	}
	if !in.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt = %v", in.CreatedAt)
	}

	t.Run("unknown interaction", func(t *testing.T) {
		status, _, body := call(t, base, "POST", "/api/v9/interactions/123/abc/callback", map[string]any{"type": 4}, "")
		wantError(t, status, body, 404, CodeUnknownInteraction)
		bad := *in
		bad.Token = "wrong"
		status, _, body = call(t, base, "POST", cbPath(&bad), map[string]any{"type": 4}, "")
		wantError(t, status, body, 404, CodeUnknownInteraction)
	})
	t.Run("webhook before ack", func(t *testing.T) {
		status, _, body := call(t, base, "PATCH", hookPath(in, "/messages/@original"), map[string]any{"content": "x"}, "")
		wantError(t, status, body, 404, CodeUnknownWebhook)
	})
	t.Run("invalid type", func(t *testing.T) {
		status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 7}, "")
		m := wantError(t, status, body, 400, CodeInvalidFormBody)
		if !strings.Contains(fmt.Sprint(m["errors"]), "type") {
			t.Errorf("errors = %v", m["errors"])
		}
	})
	t.Run("invalid message", func(t *testing.T) {
		status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 4, "data": map[string]any{"content": strings.Repeat("x", 2001)}}, "")
		m := wantError(t, status, body, 400, CodeInvalidFormBody)
		errs, _ := m["errors"].(map[string]any)
		data, _ := errs["data"].(map[string]any)
		if _, ok := data["content"]; !ok {
			t.Errorf("errors = %v, want data.content", errs)
		}
		status, _, body = call(t, base, "POST", cbPath(in), map[string]any{"type": 4, "data": map[string]any{}}, "")
		wantError(t, status, body, 400, CodeEmptyMessage)
	})
	t.Run("with_response", func(t *testing.T) {
		status, _, body := call(t, base, "POST", cbPath(in)+"?with_response=true",
			map[string]any{"type": 4, "data": map[string]any{"content": "hi", "flags": 64 | 2}}, "")
		m, _ := body.(map[string]any)
		inter, _ := m["interaction"].(map[string]any)
		res, _ := m["resource"].(map[string]any)
		msg, _ := res["message"].(map[string]any)
		if status != 200 || inter["id"] != in.ID || inter["response_message_ephemeral"] != true || msg["content"] != "hi" ||
			msg["flags"] != 64.0 {
			t.Fatalf("answer %d %v", status, body)
		}
		meta, _ := msg["interaction_metadata"].(map[string]any)
		if meta["id"] != in.ID || msg["webhook_id"] != DefaultAppID {
			t.Errorf("message = %v", msg)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		late := interact(t, fake, base, SlashCommand{Name: "x"})
		advance(AckDeadline + time.Millisecond)
		status, _, body := call(t, base, "POST", cbPath(late), map[string]any{"type": 5}, "")
		wantError(t, status, body, 404, CodeUnknownInteraction)
		status, _, body = call(t, base, "POST", hookPath(late, ""), map[string]any{"content": "x"}, "")
		wantError(t, status, body, 404, CodeUnknownWebhook)
		if cb := fake.Callbacks(late.ID); len(cb) != 1 || cb[0].Status != 404 {
			t.Errorf("callbacks = %+v", cb)
		}
		if fake.Acknowledged(late.ID) != 0 || fake.Acknowledged(in.ID) != 4 {
			t.Errorf("Acknowledged = %d, %d", fake.Acknowledged(late.ID), fake.Acknowledged(in.ID))
		}
	})
	t.Run("token lifetime", func(t *testing.T) {
		fresh := interact(t, fake, base, SlashCommand{Name: "x"})
		if status, _, _ := call(t, base, "POST", cbPath(fresh), map[string]any{"type": 5, "data": map[string]any{"flags": 64}}, ""); status != 204 {
			t.Fatalf("defer = %d", status)
		}
		if m, _ := fake.Original(fresh.ID); !m.Ephemeral() || !m.Loading() {
			t.Errorf("deferred ephemeral = %+v", m)
		}
		advance(TokenLifetime - time.Second)
		if status, _, body := call(t, base, "GET", hookPath(fresh, "/messages/@original"), nil, ""); status != 200 {
			t.Fatalf("inside 15 min: %d %v", status, body)
		}
		advance(time.Second)
		status, _, body := call(t, base, "PATCH", hookPath(fresh, "/messages/@original"), map[string]any{"content": "x"}, "")
		wantError(t, status, body, 401, CodeInvalidWebhookToken)
	})
}

func TestWebhookMessages(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	in := interact(t, fake, base, SlashCommand{Name: "x", AttachmentSizeLimit: 100})
	if status, _, _ := call(t, base, "POST", cbPath(in), map[string]any{"type": 5}, ""); status != 204 {
		t.Fatal("defer failed")
	}

	t.Run("unknown token", func(t *testing.T) {
		bad := *in
		bad.Token = "nope"
		status, _, body := call(t, base, "PATCH", hookPath(&bad, "/messages/@original"), map[string]any{"content": "x"}, "")
		wantError(t, status, body, 404, CodeUnknownWebhook)
	})
	t.Run("first follow-up replaces the thinking message", func(t *testing.T) {
		status, _, body := call(t, base, "POST", hookPath(in, ""), map[string]any{"content": "first"}, "")
		orig, _ := fake.Original(in.ID)
		m, _ := body.(map[string]any)
		if status != 200 || m["id"] != orig.ID || orig.Content != "first" || orig.Loading() {
			t.Fatalf("follow-up %d %v; original %+v", status, body, orig)
		}
		status, _, body = call(t, base, "POST", hookPath(in, "?wait=true"), map[string]any{"content": "second"}, "")
		m, _ = body.(map[string]any)
		if status != 200 || m["id"] == orig.ID || len(fake.Followups(in.ID)) != 1 {
			t.Fatalf("second follow-up %d %v", status, body)
		}
		id, _ := m["id"].(string)
		status, _, _ = call(t, base, "PATCH", hookPath(in, "/messages/"+id), map[string]any{"content": "second!"}, "")
		if got, _ := fake.Message(id); status != 200 || got.Content != "second!" {
			t.Errorf("edit follow-up = %d %+v", status, got)
		}
	})
	t.Run("attachments", func(t *testing.T) {
		small := File{Name: "a.mp4", Data: bytes.Repeat([]byte("a"), 100)}
		status, _, body := call(t, base, "PATCH", hookPath(in, "/messages/@original"), multi(t, map[string]any{}, small), "")
		if status != 200 {
			t.Fatalf("upload at the limit = %d %v", status, body)
		}
		big := File{Name: "b.mp4", Data: bytes.Repeat([]byte("b"), 101)}
		status, _, body = call(t, base, "PATCH", hookPath(in, "/messages/@original"), multi(t, map[string]any{}, big), "")
		wantError(t, status, body, 413, CodeTooLarge)
		// Without "attachments" existing files stay; a new one is added.
		second := File{Name: "c.mp4", Data: []byte("c")}
		call(t, base, "PATCH", hookPath(in, "/messages/@original"), multi(t, map[string]any{"content": "two"}, second), "")
		orig, _ := fake.Original(in.ID)
		if len(orig.Attachments) != 2 {
			t.Fatalf("attachments = %+v", orig.Attachments)
		}
		// "attachments" lists what stays: keep the second, add a renamed one.
		keep := orig.Attachments[1].ID
		payload := map[string]any{"attachments": []any{map[string]any{"id": keep}, map[string]any{"id": "0", "filename": "d.mp4", "description": "mask"}}}
		call(t, base, "PATCH", hookPath(in, "/messages/@original"), multi(t, payload, File{Name: "x.mp4", Data: []byte("d")}), "")
		orig, _ = fake.Original(in.ID)
		if len(orig.Attachments) != 2 || orig.Attachments[0].ID != keep || orig.Attachments[1].Name != "d.mp4" ||
			orig.Attachments[1].Description != "mask" {
			t.Fatalf("attachments = %+v", orig.Attachments)
		}
		// An empty list removes them all.
		call(t, base, "PATCH", hookPath(in, "/messages/@original"), map[string]any{"attachments": []any{}}, "")
		if orig, _ = fake.Original(in.ID); len(orig.Attachments) != 0 || orig.Content != "two" {
			t.Errorf("after attachments: [] = %+v", orig)
		}
	})
	t.Run("delete", func(t *testing.T) {
		status, _, _ := call(t, base, "DELETE", hookPath(in, "/messages/@original"), nil, "")
		if status != 204 {
			t.Fatalf("delete = %d", status)
		}
		status, _, body := call(t, base, "PATCH", hookPath(in, "/messages/@original"), map[string]any{"content": "x"}, "")
		wantError(t, status, body, 404, CodeUnknownMessage)
		if m, ok := fake.Original(in.ID); !ok || !m.Deleted {
			t.Errorf("original = %+v", m)
		}
	})
}

func TestMessageValidation(t *testing.T) {
	t.Parallel()
	_, base := startFake(t, WithUploadLimit(10))
	row := func(n int) map[string]any {
		var btns []any
		for i := range n {
			btns = append(btns, map[string]any{"type": 2, "style": 1, "label": "b", "custom_id": fmt.Sprintf("b%d", i)})
		}
		return map[string]any{"type": 1, "components": btns}
	}
	rows := func(n int) []any {
		var out []any
		for range n {
			out = append(out, row(1))
		}
		return out
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   int
		field  string
	}{
		{"ok", map[string]any{"content": "hi", "components": []any{row(5)}}, 200, 0, ""},
		{"empty", map[string]any{"content": ""}, 400, CodeEmptyMessage, ""},
		{"content too long", map[string]any{"content": strings.Repeat("é", 2001)}, 400, CodeInvalidFormBody, "content"},
		{"six buttons", map[string]any{"content": "x", "components": []any{row(6)}}, 400, CodeInvalidFormBody, "components"},
		{"six rows", map[string]any{"content": "x", "components": rows(6)}, 400, CodeInvalidFormBody, "components"},
		{"duplicate custom_id", map[string]any{"content": "x", "components": []any{row(1), row(1)}}, 400, CodeInvalidFormBody, "components"},
		{"button without custom_id", map[string]any{"content": "x", "components": []any{map[string]any{"type": 1,
			"components": []any{map[string]any{"type": 2, "style": 1, "label": "x"}}}}}, 400, CodeInvalidFormBody, "components"},
		{"link with custom_id", map[string]any{"content": "x", "components": []any{map[string]any{"type": 1,
			"components": []any{map[string]any{"type": 2, "style": 5, "url": "https://x", "custom_id": "a"}}}}}, 400, CodeInvalidFormBody, "components"},
		{"eleven embeds", map[string]any{"embeds": make([]map[string]any, 11)}, 400, CodeInvalidFormBody, "embeds"},
		{"nonce too long", map[string]any{"content": "x", "nonce": strings.Repeat("n", 26)}, 400, CodeInvalidFormBody, "nonce"},
		{"mention parse conflict", map[string]any{"content": "x", "allowed_mentions": map[string]any{"parse": []string{"users"}, "users": []string{"1"}}}, 400, CodeInvalidFormBody, "allowed_mentions"},
		{"not json", json.RawMessage(`{`), 400, CodeInvalidJSON, ""},
		{"file too large", multi(t, map[string]any{"content": "x"}, File{Name: "f", Data: make([]byte, 11)}), 413, CodeTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var body any
			if raw, ok := tt.body.(json.RawMessage); ok {
				req, _ := http.NewRequest("POST", base+"/api/v9/channels/"+DefaultChannelID+"/messages", bytes.NewReader(raw))
				req.Header.Set("Authorization", "Bot "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				status = resp.StatusCode
			} else {
				status, _, body = call(t, base, "POST", "/api/v9/channels/"+DefaultChannelID+"/messages", tt.body, "-")
			}
			if tt.status == 200 {
				if status != 200 {
					t.Fatalf("answer %d %v", status, body)
				}
				return
			}
			m := wantError(t, status, body, tt.status, tt.code)
			if tt.field != "" {
				errs, _ := m["errors"].(map[string]any)
				if _, ok := errs[tt.field]; !ok {
					t.Errorf("errors = %v, want %s", m["errors"], tt.field)
				}
			}
		})
	}
}

func TestCommandRegistration(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	path := "/api/v9/applications/" + DefaultAppID + "/commands"
	opt := func(name string, required bool) map[string]any {
		return map[string]any{"type": 3, "name": name, "description": "d", "required": required}
	}
	choices := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"name": fmt.Sprint(i), "value": fmt.Sprint(i)})
		}
		return out
	}
	tests := []struct {
		name string
		cmds []any
		ok   bool
	}{
		{"valid", []any{map[string]any{"name": "render", "description": "Render", "options": []any{opt("scene", true), opt("fast", false)}}}, true},
		{"uppercase", []any{map[string]any{"name": "Render", "description": "d"}}, false},
		{"space", []any{map[string]any{"name": "my render", "description": "d"}}, false},
		{"no description", []any{map[string]any{"name": "render"}}, false},
		{"long description", []any{map[string]any{"name": "render", "description": strings.Repeat("d", 101)}}, false},
		{"required after optional", []any{map[string]any{"name": "r", "description": "d", "options": []any{opt("a", false), opt("b", true)}}}, false},
		{"duplicate names", []any{map[string]any{"name": "r", "description": "d"}, map[string]any{"name": "r", "description": "d"}}, false},
		{"26 choices", []any{map[string]any{"name": "r", "description": "d", "options": []any{map[string]any{"type": 3, "name": "c", "description": "d", "choices": choices(26)}}}}, false},
		{"choices and autocomplete", []any{map[string]any{"name": "r", "description": "d", "options": []any{map[string]any{"type": 3, "name": "c", "description": "d", "choices": choices(2), "autocomplete": true}}}}, false},
		{"user command with description", []any{map[string]any{"type": 2, "name": "Show Jobs", "description": "d"}}, false},
	}
	for _, tt := range tests {
		status, _, body := call(t, base, "PUT", path, tt.cmds, "-")
		if tt.ok && status != 200 {
			t.Errorf("%s: %d %v", tt.name, status, body)
		}
		if !tt.ok {
			m, _ := body.(map[string]any)
			if status != 400 || m["code"] != float64(CodeInvalidFormBody) || m["errors"] == nil {
				t.Errorf("%s: %d %v, want 50035", tt.name, status, body)
			}
		}
	}
	if got := fake.Commands(""); len(got) != 1 || !bytes.Contains(got[0], []byte(`"name":"render"`)) {
		t.Errorf("refused overwrites changed the commands: %s", got)
	}
	status, _, body := call(t, base, "PUT", "/api/v9/applications/"+DefaultAppID+"/guilds/999/commands", []any{}, "-")
	wantError(t, status, body, 403, CodeMissingAccess)
}

func TestSendCommandChecks(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	identified(t, fake, base)
	if err := fake.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, _, _ = call(t, base, "PUT", "/api/v9/applications/"+DefaultAppID+"/commands", []any{map[string]any{
		"name": "render", "description": "d", "options": []any{
			map[string]any{"type": 3, "name": "scene", "description": "d", "required": true},
			map[string]any{"type": 3, "name": "background", "description": "d", "choices": []any{map[string]any{"name": "solid", "value": "solid"}}},
			map[string]any{"type": 4, "name": "n", "description": "d"},
			map[string]any{"type": 3, "name": "map", "description": "d", "autocomplete": true},
			map[string]any{"type": 11, "name": "image", "description": "d"},
		}}}, "-")
	tests := []struct {
		name string
		c    SlashCommand
		ok   bool
	}{
		{"valid", SlashCommand{Name: "render", Options: map[string]any{"scene": "s", "background": "solid", "n": 2}}, true},
		{"unregistered", SlashCommand{Name: "other"}, false},
		{"missing required", SlashCommand{Name: "render", Options: map[string]any{"background": "solid"}}, false},
		{"not a choice", SlashCommand{Name: "render", Options: map[string]any{"scene": "s", "background": "red"}}, false},
		{"unknown option", SlashCommand{Name: "render", Options: map[string]any{"scene": "s", "x": "y"}}, false},
		{"wrong type", SlashCommand{Name: "render", Options: map[string]any{"scene": true}}, false},
		{"not an integer", SlashCommand{Name: "render", Options: map[string]any{"scene": "s", "n": 1.5}}, false},
		{"unknown guild", SlashCommand{Name: "render", Options: map[string]any{"scene": "s"}, GuildID: "5"}, false},
		{"autocomplete", SlashCommand{Name: "render", Options: map[string]any{"map": "ab"}, Focused: "map"}, true},
		{"dm", SlashCommand{Name: "render", Options: map[string]any{"scene": "s"}, DM: true}, true},
		{"attachment", SlashCommand{Name: "render", Options: map[string]any{"scene": "s",
			"image": Attachment{Filename: "a.png", ContentType: "image/png", Size: 42, URL: "http://127.0.0.1/a.png"}}}, true},
		{"attachment not picked as one", SlashCommand{Name: "render", Options: map[string]any{"scene": "s", "image": "a.png"}}, false},
	}
	for _, tt := range tests {
		in, err := fake.SendCommand(t.Context(), tt.c)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		var p map[string]any
		_ = json.Unmarshal(in.Payload, &p)
		switch tt.name {
		case "autocomplete":
			opts := p["data"].(map[string]any)["options"].([]any)
			o := opts[0].(map[string]any)
			if p["type"] != 4.0 || o["focused"] != true || o["value"] != "ab" {
				t.Errorf("autocomplete payload = %v", p)
			}
			if status, _, _ := call(t, base, "POST", cbPath(in), map[string]any{"type": 8, "data": map[string]any{"choices": []any{map[string]any{"name": "a", "value": "a"}}}}, ""); status != 204 {
				t.Errorf("autocomplete result = %d", status)
			}
		case "attachment":
			data := p["data"].(map[string]any)
			var id string
			for _, o := range data["options"].([]any) {
				if o := o.(map[string]any); o["name"] == "image" {
					id, _ = o["value"].(string)
				}
			}
			a, _ := data["resolved"].(map[string]any)["attachments"].(map[string]any)[id].(map[string]any)
			if !isSnowflake(id) || a["filename"] != "a.png" || a["content_type"] != "image/png" || a["size"] != 42.0 || a["url"] != "http://127.0.0.1/a.png" {
				t.Errorf("attachment payload = %v", data)
			}
		case "dm":
			if p["guild_id"] != nil || p["member"] != nil || p["user"] == nil || p["context"] != 1.0 ||
				p["channel"].(map[string]any)["type"] != 1.0 || in.ChannelID != fake.DMChannel(DefaultUserID) {
				t.Errorf("DM payload = %v", p)
			}
		}
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	fake.FailNext("GET", "/users/@me", Failure{Code: CodeMissingAccess})
	fake.FailNext("GET", "/users/@me", Failure{RetryAfter: 1.5, Global: true})
	fake.FailNext("*", "/api/v10/users/**", Failure{Status: 502, Body: "<html>bad gateway</html>"})
	fake.FailNext("GET", "/users/@me", Failure{Delay: 20 * time.Millisecond})

	status, _, body := call(t, base, "GET", "/api/v9/users/@me", nil, "-")
	wantError(t, status, body, 403, CodeMissingAccess)

	status, h, body := call(t, base, "GET", "/api/v9/users/@me", nil, "-")
	m := wantError(t, status, body, 429, 0)
	if m["retry_after"] != 1.5 || m["global"] != true || h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Global") != "true" ||
		h.Get("X-RateLimit-Scope") != "global" || h.Get("X-RateLimit-Reset-After") != "1.500" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429 = %v %v", m, h)
	}

	resp, err := http.Get(base + "/api/v9/users/@me")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(raw), "bad gateway") {
		t.Errorf("scripted body = %d %s", resp.StatusCode, raw)
	}

	start := time.Now()
	if status, _, _ := call(t, base, "GET", "/api/v9/users/@me", nil, "-"); status != 200 || time.Since(start) < 20*time.Millisecond {
		t.Errorf("delayed pass-through = %d after %v", status, time.Since(start))
	}
	if status, _, _ := call(t, base, "GET", "/api/v9/users/@me", nil, "-"); status != 200 {
		t.Errorf("after the scripted failures = %d", status)
	}
	reqs := fake.Requests()
	if len(reqs) != 5 || reqs[0].Status != 403 || reqs[1].Status != 429 || reqs[2].Status != 502 {
		t.Errorf("recorded %d requests", len(reqs))
	}
}

func TestMatchRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, pattern, gotMethod, route string
		want                              bool
	}{
		{"PATCH", "/webhooks/*/*/messages/@original", "PATCH", "/webhooks/1/tok/messages/@original", true},
		{"patch", "/webhooks/{app}/{token}/messages/@original", "PATCH", "/webhooks/1/tok/messages/@original", true},
		{"POST", "/webhooks/*/*/messages/@original", "PATCH", "/webhooks/1/tok/messages/@original", false},
		{"", "/api/v9/channels/*/messages", "POST", "/channels/5/messages", true},
		{"*", "/channels/**", "GET", "/channels/5/messages/7", true},
		{"GET", "/channels/*", "GET", "/channels/5/messages", false},
		{"GET", "/channels/*/messages", "GET", "/channels/5", false},
	}
	for _, tt := range tests {
		if got := matchRequest(tt.method, tt.pattern, tt.gotMethod, tt.route); got != tt.want {
			t.Errorf("matchRequest(%q, %q, %q, %q) = %v, want %v", tt.method, tt.pattern, tt.gotMethod, tt.route, got, tt.want)
		}
	}
}

func TestChangedAndMessagesList(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	ch := fake.Changed()
	select {
	case <-ch:
		t.Fatal("changed before any request")
	default:
	}
	var ids []string
	for i := range 3 {
		_, _, body := call(t, base, "POST", "/api/v9/channels/"+DefaultChannelID+"/messages", map[string]any{"content": fmt.Sprint(i)}, "-")
		ids = append(ids, body.(map[string]any)["id"].(string))
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by requests")
	}
	_, _, body := call(t, base, "GET", "/api/v9/channels/"+DefaultChannelID+"/messages?limit=2", nil, "-")
	list, _ := body.([]any)
	if len(list) != 2 || list[0].(map[string]any)["id"] != ids[2] || list[1].(map[string]any)["id"] != ids[1] {
		t.Errorf("newest two = %v", body)
	}
	_, _, body = call(t, base, "GET", "/api/v9/channels/"+DefaultChannelID+"/messages?before="+ids[1], nil, "-")
	if list, _ := body.([]any); len(list) != 1 || list[0].(map[string]any)["id"] != ids[0] {
		t.Errorf("before = %v", body)
	}
	_, _, body = call(t, base, "GET", "/api/v9/channels/"+DefaultChannelID+"/messages?after="+ids[0], nil, "-")
	if list, _ := body.([]any); len(list) != 2 || list[0].(map[string]any)["id"] != ids[2] {
		t.Errorf("after = %v", body)
	}
	if got := fake.ChannelMessages(DefaultChannelID); len(got) != 3 || got[0].ID != ids[0] {
		t.Errorf("ChannelMessages = %+v", got)
	}
}
