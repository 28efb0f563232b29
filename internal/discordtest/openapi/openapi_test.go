package openapi

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	appID   = "100000000000000001"
	guildID = "200000000000000001"
	chanID  = "300000000000000001"
	userID  = "400000000000000001"
	interID = "500000000000000001"
	token   = "aW50ZXJhY3Rpb246NTAwMDAwMDAwMDAwMDAwMDAxOmFiYw"
)

type request struct {
	name      string
	method    string
	path      string
	body      string
	multipart bool
	files     []string
	want      string // "" passes; otherwise a substring of the error
}

var commands = `[{
	"name": "render", "description": "Render a scene", "type": 1,
	"default_member_permissions": "2147483648", "dm_permission": false,
	"contexts": [0, 1], "integration_types": [0],
	"options": [
		{"type": 3, "name": "scene", "description": "The scene", "required": true, "autocomplete": false,
		 "choices": [{"name": "Dance", "value": "scene_dance"}, {"name": "Walk", "value": "scene_walk"}]},
		{"type": 4, "name": "count", "description": "How many", "min_value": 1, "max_value": 10},
		{"type": 11, "name": "image", "description": "A picture"}
	]
}, {
	"name": "jobs", "description": "Your jobs",
	"options": [{"type": 3, "name": "status", "description": "Filter",
		"choices": [{"name": "running", "value": "running"}, {"name": "done", "value": "done"}]}]
}]`

var editOriginal = `{
	"content": "**Done!** <@` + userID + `>",
	"components": [{"type": 1, "components": [
		{"type": 2, "style": 4, "label": "Cancel", "custom_id": "cancel:42"},
		{"type": 2, "style": 5, "label": "Open", "url": "https://example.com/v/42"}]}],
	"allowed_mentions": {"parse": [], "users": ["` + userID + `"]},
	"attachments": [{"id": "0", "filename": "render.mp4", "description": "the video"}]
}`

func table() []request {
	webhook := "/api/v9/webhooks/" + appID + "/" + token
	callback := "/api/v9/interactions/" + interID + "/" + token + "/callback"
	return []request{
		// must pass
		{name: "bulk overwrite global commands", method: "PUT", path: "/api/v9/applications/" + appID + "/commands", body: commands},
		{name: "bulk overwrite guild commands, v10", method: "PUT", path: "/api/v10/applications/" + appID + "/guilds/" + guildID + "/commands", body: commands},
		{name: "permissions as a number", method: "PUT", path: "/api/v9/applications/" + appID + "/commands", body: `[{"name": "x", "description": "y", "default_member_permissions": 8}]`},
		{name: "callback 4 ephemeral", method: "POST", path: callback, body: `{"type": 4, "data": {"content": "Only the owner can do that.", "flags": 64}}`},
		{name: "callback 5 deferred", method: "POST", path: callback, body: `{"type": 5, "data": {"flags": 64}}`},
		{name: "callback 5 without data", method: "POST", path: callback, body: `{"type": 5}`},
		{name: "callback 6 deferred update", method: "POST", path: callback, body: `{"type": 6}`},
		{name: "edit original", method: "PATCH", path: webhook + "/messages/@original", body: editOriginal},
		{name: "edit original multipart", method: "PATCH", path: webhook + "/messages/@original", body: editOriginal, multipart: true, files: []string{"files[0]"}},
		{name: "follow-up", method: "POST", path: webhook, body: `{"content": "hi", "flags": 64}`},
		{name: "follow-up mentioning only the owner, wait", method: "POST", path: webhook + "?wait=true", body: `{
			"content": "<@` + userID + `> your render is done: https://discord.com/channels/` + guildID + `/` + chanID + `/1",
			"allowed_mentions": {"parse": [], "users": ["` + userID + `"]}}`},
		{name: "ephemeral follow-up multipart", method: "POST", path: webhook, body: `{"content": "x", "flags": 64, "attachments": [{"id": "0", "filename": "a.mp4"}]}`, multipart: true, files: []string{"files[0]"}},
		{name: "channel message with nonce", method: "POST", path: "/api/v9/channels/" + chanID + "/messages", body: `{
			"content": "<@` + userID + `> your video is ready", "nonce": "vb-42-1", "enforce_nonce": true,
			"allowed_mentions": {"parse": [], "users": ["` + userID + `"]}}`},
		{name: "channel message multipart", method: "POST", path: "/api/v9/channels/" + chanID + "/messages", body: `{"content": "x", "attachments": [{"id": "0", "filename": "a.mp4"}]}`, multipart: true, files: []string{"files[0]"}},
		{name: "DM channel", method: "POST", path: "/api/v9/users/@me/channels", body: `{"recipient_id": "` + userID + `"}`},
		{name: "current user", method: "GET", path: "/api/v9/users/@me"},
		{name: "gateway", method: "GET", path: "/api/v9/gateway"},
		{name: "gateway bot", method: "GET", path: "/api/v9/gateway/bot"},
		{name: "no version prefix", method: "GET", path: "/users/@me"},
		{name: "lower-case method", method: "get", path: "/api/users/@me"},
		{name: "query ignored", method: "GET", path: "/api/v9/gateway?v=9"},
		{name: "delete original", method: "DELETE", path: webhook + "/messages/@original"},
		{name: "user by id", method: "GET", path: "/api/v9/users/" + userID},

		// must fail
		{name: "unknown path", method: "GET", path: "/api/v9/users/@me/videos", want: "no such path"},
		{name: "not under the api", method: "GET", path: "/attachments/1/a.mp4", want: "no such path"},
		{name: "wrong method", method: "PUT", path: "/api/v9/users/@me", want: "method not allowed"},
		{name: "empty segment", method: "GET", path: "/api/v9/channels//messages", want: "no such path"},
		{name: "non-snowflake id", method: "GET", path: "/api/v9/channels/general", want: "{channel_id}"},
		{name: "wrong field type", method: "POST", path: callback, body: `{"type": 4, "data": {"content": 42}}`, want: `at "/data/content": got number, want null or string`},
		{name: "button without style", method: "PATCH", path: webhook + "/messages/@original", body: `{"components": [{"type": 1, "components": [{"type": 2, "label": "x", "custom_id": "y"}]}]}`, want: `at "/components/0/components/0": missing property 'style'`},
		{name: "callback data of the wrong type", method: "POST", path: callback, body: `{"type": 4, "data": "hello"}`, want: `at "/data": got string, want null or object`},
		{name: "unknown callback type", method: "POST", path: callback, body: `{"type": 99}`, want: `at "/type": value 99 is not allowed, want one of 8, 4, 5`},
		{name: "content too long", method: "PATCH", path: webhook + "/messages/@original", body: `{"content": "` + strings.Repeat("a", 2001) + `"}`, want: "maxLength"},
		{name: "nonce too long", method: "POST", path: "/api/v9/channels/" + chanID + "/messages", body: `{"content": "x", "nonce": "` + strings.Repeat("n", 26) + `"}`, want: `at "/nonce": maxLength`},
		{name: "DM to a non-snowflake", method: "POST", path: "/api/v9/users/@me/channels", body: `{"recipient_id": "alice"}`, want: `at "/recipient_id": 'alice' does not match pattern`},
		{name: "option without description", method: "PUT", path: "/api/v9/applications/" + appID + "/commands", body: `[{"name": "x", "description": "y", "options": [{"type": 3, "name": "s"}]}]`, want: `at "/0/options/0": missing property 'description'`},
		{name: "permissions not decimal", method: "PUT", path: "/api/v9/applications/" + appID + "/commands", body: `[{"name": "x", "description": "y", "default_member_permissions": "0x8"}]`, want: "default_member_permissions"},
		{name: "missing body", method: "POST", path: callback, want: "requires a request body"},
		{name: "body where none is taken", method: "GET", path: "/api/v9/users/@me", body: `{}`, want: "takes no request body"},
		{name: "not JSON", method: "POST", path: callback, body: `{"type":`, want: "not JSON"},
		{name: "multipart file not files[n]", method: "PATCH", path: webhook + "/messages/@original", body: `{"content": "x"}`, multipart: true, files: []string{"file"}, want: `"file" is neither payload_json nor files[n]`},
		{name: "multipart file beyond files[9]", method: "PATCH", path: webhook + "/messages/@original", body: `{"content": "x"}`, multipart: true, files: []string{"files[10]"}, want: "not one of the operation's file fields"},
		{name: "multipart where not accepted", method: "PUT", path: "/api/v9/applications/" + appID + "/commands", body: `[]`, multipart: true, files: []string{"files[0]"}, want: "does not accept multipart/form-data"},
		{name: "multipart payload_json invalid", method: "PATCH", path: webhook + "/messages/@original", body: `{"content": "` + strings.Repeat("a", 2001) + `"}`, multipart: true, files: []string{"files[0]"}, want: "/content"},
	}
}

func TestCheck(t *testing.T) {
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range table() {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			err := v.Check(tc.method, tc.path, body, tc.multipart, tc.files)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("want an error containing %q, got none", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
			if err != nil {
				msg := err.Error()
				if !strings.Contains(msg, tc.method+" "+redactPath(tc.path)) {
					t.Errorf("error does not name the request: %v", err)
				}
				if strings.Contains(msg, token) {
					t.Errorf("error shows the token: %v", err)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("error is not one line: %q", msg)
				}
				t.Log(msg)
			}
		})
	}
}

func TestLoadOnce(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load()
	if a != b {
		t.Fatal("Load parsed the description twice")
	}
}

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v9/interactions/1/tok/callback":       "/api/v9/interactions/1/[token]/callback",
		"/api/v9/webhooks/1/tok/messages/@original": "/api/v9/webhooks/1/[token]/messages/@original",
		"/api/v9/webhooks/1":                        "/api/v9/webhooks/1",
		"/api/v9/users/@me":                         "/api/v9/users/@me",
	} {
		if got := redactPath(in); got != want {
			t.Errorf("redactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRouteOf(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v9/users/@me":  "/users/@me",
		"/api/v10/gateway":   "/gateway",
		"/api/users/@me":     "/users/@me",
		"/users/@me":         "/users/@me",
		"/api/vx/users":      "/vx/users",
		"/apis/v9/users":     "/apis/v9/users",
		"/api/v9/gateway?x=": "/gateway",
	} {
		if got := routeOf(in); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCheckIsFast validates a few hundred requests (all schemas already
// compiled, as in an end-to-end run) well within a second, even under -race.
func TestCheckIsFast(t *testing.T) {
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	reqs := table()
	for _, r := range reqs { // compile every schema once
		_ = v.Check(r.method, r.path, []byte(r.body), r.multipart, r.files)
	}
	start := time.Now()
	n := 0
	for n < 400 {
		for _, r := range reqs {
			_ = v.Check(r.method, r.path, []byte(r.body), r.multipart, r.files)
			n++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("%d checks took %v", n, d)
	}
}

func TestConcurrentChecks(t *testing.T) {
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for _, r := range table() {
				if e := v.Check(r.method, r.path, []byte(r.body), r.multipart, r.files); (e == nil) != (r.want == "") {
					err = fmt.Errorf("%s: got %v", r.name, e)
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	v, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(editOriginal)
	path := "/api/v9/webhooks/" + appID + "/" + token + "/messages/@original"
	for b.Loop() {
		if err := v.Check("PATCH", path, body, true, []string{"files[0]"}); err != nil {
			b.Fatal(err)
		}
	}
}
