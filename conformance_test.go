package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/discordtest/openapi"
	"github.com/viggle-bot/viggle-bot/redact"
)

// Conformance with Discord's official OpenAPI description: every test that
// starts a fake Discord registers it with trackDiscord, and TestMain, once all
// tests have passed, checks every REST request those fakes recorded (all of
// them sent by the bot) with checkDiscordConformance; the first request that
// does not conform fails the run (see TestDiscordConformance).

// trackedDiscords are the fake Discords of this test run.
var trackedDiscords struct {
	mu      sync.Mutex
	servers []*discordtest.Server
}

// trackDiscord registers a fake Discord whose recorded requests are checked
// against Discord's OpenAPI description at the end of the run.
func trackDiscord(s *discordtest.Server) {
	trackedDiscords.mu.Lock()
	defer trackedDiscords.mu.Unlock()
	trackedDiscords.servers = append(trackedDiscords.servers, s)
}

// discordConformance is TestMain's last step: given m.Run's exit code, it
// returns the code to exit with, 1 if a recorded request violates the
// description (printed to standard error). It checks only after a passing
// run, and never in a child process running as the bot.
func discordConformance(code int) int {
	if code != 0 || os.Getenv("VB_BOT_CHILD") != "" {
		return code
	}
	trackedDiscords.mu.Lock()
	servers := append([]*discordtest.Server(nil), trackedDiscords.servers...)
	trackedDiscords.mu.Unlock()
	n, err := checkDiscordConformance(servers...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "--- FAIL: Discord conformance (after %d conforming requests)\n    %v\nFAIL\n", n, err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "Discord conformance: %d requests from %d fake Discords match the OpenAPI description\n", n, len(servers))
	}
	return code
}

// checkDiscordConformance validates every request recorded by servers
// against Discord's OpenAPI description and returns how many conformed
// before the first violation, and that violation.
func checkDiscordConformance(servers ...*discordtest.Server) (int, error) {
	v, err := openapi.Load()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range servers {
		for _, r := range s.Requests() {
			if err := checkRequest(v, r); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// checkRequest validates one recorded request: a JSON body as is, a
// multipart body as its payload_json part plus the names of its other parts.
func checkRequest(v *openapi.Validator, r discordtest.Request) error {
	if len(r.Body) == 0 {
		return v.Check(r.Method, r.Path, nil, false, nil)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && mt == "application/json":
		return v.Check(r.Method, r.Path, r.Body, false, nil)
	case err == nil && mt == "multipart/form-data":
		payload, fields, err := multipartParts(r.Body, params["boundary"])
		if err != nil {
			return fmt.Errorf("openapi: %s %s: %w", r.Method, redact.Text(r.Path), err)
		}
		return v.Check(r.Method, r.Path, payload, true, fields)
	default:
		return fmt.Errorf("openapi: %s %s: body sent as %q, want application/json or multipart/form-data",
			r.Method, redact.Text(r.Path), r.Header.Get("Content-Type"))
	}
}

// multipartParts returns the payload_json part of a multipart body and the
// form names of all its other parts (which should all be files[n]).
func multipartParts(body []byte, boundary string) ([]byte, []string, error) {
	if boundary == "" {
		return nil, nil, errors.New("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var payload []byte
	var fields []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return payload, fields, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read multipart body: %w", err)
		}
		name := p.FormName()
		if name != "payload_json" {
			fields = append(fields, name)
			continue
		}
		if payload != nil {
			return nil, nil, errors.New("two payload_json parts")
		}
		if payload, err = io.ReadAll(p); err != nil {
			return nil, nil, fmt.Errorf("read payload_json: %w", err)
		}
	}
}

// TestDiscordConformance checks the checker TestMain runs on every request of
// the suite: conforming requests pass, and an invalid one among them is
// reported with its method, path and violation.
func TestDiscordConformance(t *testing.T) {
	const tok = "the-token"
	// Fakes of this test are not tracked: they record invalid requests on purpose.
	start := func() (*discordtest.Server, string) {
		d := discordtest.New(discordtest.WithToken(tok))
		u, stop, err := d.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return d, u
	}
	send := func(base, method, path, contentType string, body []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bot "+tok)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	upload := func(fileField string) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		pj, _ := w.CreateFormField("payload_json")
		io.WriteString(pj, `{"content": "done", "attachments": [{"id": "0", "filename": "v.mp4"}]}`)
		f, _ := w.CreateFormFile(fileField, "v.mp4")
		f.Write([]byte("video"))
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}
	messages := "/api/v9/channels/" + channelID + "/messages"

	d, u := start()
	send(u, "GET", "/api/v9/users/@me", "", nil)
	send(u, "POST", "/api/v9/users/@me/channels", "application/json", []byte(`{"recipient_id": "`+alice+`"}`))
	ct, body := upload("files[0]")
	send(u, "POST", messages, ct, body)
	if n, err := checkDiscordConformance(d); err != nil || n != 3 {
		t.Fatalf("conforming requests: %d passed, then %v", n, err)
	}

	fileCT, fileBody := upload("file")
	for _, tc := range []struct {
		name, method, path, contentType, body, want string
	}{
		{"unknown path", "GET", "/api/v9/users/@me/nothing", "", "", "GET /api/v9/users/@me/nothing: no such path"},
		{"wrong type", "POST", "/api/v9/users/@me/channels", "application/json", `{"recipient_id": 42}`,
			`POST /api/v9/users/@me/channels: at "/recipient_id": got number, want null or string`},
		{"form body", "POST", "/api/v9/users/@me/channels", "application/x-www-form-urlencoded", "recipient_id=1",
			`POST /api/v9/users/@me/channels: body sent as "application/x-www-form-urlencoded", want application/json`},
		{"file field", "POST", messages, fileCT, string(fileBody), `"file" is neither payload_json nor files[n]`},
		{"token hidden", "PATCH", "/api/v9/webhooks/" + discordtest.DefaultAppID + "/secret-interaction-token/messages/@original",
			"application/json", `{"content": 5}`, `PATCH /api/v9/webhooks/` + discordtest.DefaultAppID + `/[token]/messages/@original: at "/content"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, u := start()
			send(u, "GET", "/api/v9/gateway", "", nil)
			send(u, tc.method, tc.path, tc.contentType, []byte(tc.body))
			n, err := checkDiscordConformance(d)
			if err == nil || !strings.Contains(err.Error(), tc.want) || n != 1 {
				t.Fatalf("want a violation containing %q after 1 request, got %v after %d", tc.want, err, n)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("the violation shows the token: %v", err)
			}
		})
	}
}
