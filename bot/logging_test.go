package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

const (
	testInteractionToken = "itok-Zq9xR2-very-secret-interaction-token"
	testBotToken         = "test-bot-token-s3cr3t-value"
)

func TestSafeErrorURLError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			"webhook edit",
			&url.Error{Op: "Patch", URL: "https://discord.com/api/v9/webhooks/111/" + testInteractionToken + "/messages/@original", Err: errors.New("context deadline exceeded")},
			`Patch "https://discord.com/api/v9/webhooks/111/[token]/messages/@original": context deadline exceeded`,
		},
		{
			"follow-up",
			fmt.Errorf("deliver job j1: %w", &url.Error{Op: "Post", URL: "https://discord.com/api/v9/webhooks/111/" + testInteractionToken + "?wait=true", Err: errors.New("EOF")}),
			`deliver job j1: Post "https://discord.com/api/v9/webhooks/111/[token]?wait=true": EOF`,
		},
		{
			"interaction callback",
			&url.Error{Op: "Post", URL: "https://discord.com/api/v9/interactions/222/" + testInteractionToken + "/callback", Err: errors.New("connection refused")},
			`Post "https://discord.com/api/v9/interactions/222/[token]/callback": connection refused`,
		},
		{
			"rate limit error carries the URL",
			&discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: time.Second}, URL: "https://discord.com/api/v9/webhooks/111/" + testInteractionToken + "/messages/@original"}},
			"Rate limit exceeded on https://discord.com/api/v9/webhooks/111/[token]/messages/@original, retry after 1s",
		},
		{"nil", nil, "<nil>"},
		{"plain", errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeError(tt.err)
			if got != tt.want {
				t.Errorf("SafeError = %q\nwant          %q", got, tt.want)
			}
			if strings.Contains(got, testInteractionToken) {
				t.Errorf("token in %q", got)
			}
		})
	}
}

func restError(status int, body string) *discordgo.RESTError {
	req, _ := http.NewRequest("POST", "https://discord.com/api/v9/webhooks/111/"+testInteractionToken, nil)
	req.Header.Set("Authorization", "Bot "+testBotToken)
	resp := &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Request: req}
	re := &discordgo.RESTError{Request: req, Response: resp, ResponseBody: []byte(body)}
	var msg discordgo.APIErrorMessage
	if discordgo.Unmarshal([]byte(body), &msg) == nil {
		re.Message = &msg
	}
	return re
}

func TestSafeErrorRESTError(t *testing.T) {
	re := restError(404, `{"message": "Unknown interaction", "code": 10062}`)
	// The test can fail: the struct itself does carry the header.
	if !strings.Contains(fmt.Sprintf("%+v", *re.Request), testBotToken) {
		t.Fatal("test setup: the request should carry the token")
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"bare", re, "HTTP 404: code 10062 Unknown interaction"},
		{"wrapped", fmt.Errorf("edit original: %w", re), "edit original: HTTP 404: code 10062 Unknown interaction"},
		{"op error", &opError{op: "bot: register", err: re}, "bot: register: HTTP 404: code 10062 Unknown interaction"},
		{"field errors", restError(400, `{"code": 50035, "errors": {"0": {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}}, "message": "Invalid Form Body"}`),
			`HTTP 400: code 50035 Invalid Form Body {"0": {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}}`},
		{"no JSON body", restError(502, `<html>bad gateway</html>`), "HTTP 502"},
		{"no response", &discordgo.RESTError{Request: re.Request}, "HTTP 0"},
		{"no response, wrapped", fmt.Errorf("x: %w", &discordgo.RESTError{Request: re.Request}), "HTTP 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeError(tt.err)
			if got != tt.want {
				t.Errorf("SafeError = %q\nwant          %q", got, tt.want)
			}
			for _, secret := range []string{testBotToken, testInteractionToken, "Authorization", "authorization"} {
				if strings.Contains(got, secret) {
					t.Errorf("%q in %q", secret, got)
				}
			}
		})
	}
}

func TestDiscordgoLoggerAdapter(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	installDiscordgoLogger(log, testBotToken)
	if discordgo.Logger == nil {
		t.Fatal("discordgo.Logger not set")
	}

	discordgo.Logger(discordgo.LogDebug, 1, "Identify Packet: %#v", map[string]string{"token": "Bot " + testBotToken})
	discordgo.Logger(discordgo.LogError, 1, "error unmarshalling READY event, %s: %s", "bad", `{"token":"`+testBotToken+`","x":1}`)
	discordgo.Logger(discordgo.LogWarning, 1, "raw %s", "Bot "+testBotToken)
	discordgo.Logger(discordgo.LogInformational, 1, "Rate Limiting %s, retry in %v", "https://discord.com/api/v9/webhooks/1/"+testInteractionToken+"/messages/@original", time.Second)
	discordgo.Logger(discordgo.LogWarning, 1, "unknown event: Data: %s", `{"token":"`+testInteractionToken+`"}`)
	discordgo.Logger(discordgo.LogError, 1, "plain token %s in text", testBotToken)

	// Open logs an unexpected first packet whole with %#v; after a RESUME it can be an interaction.
	ev := &discordgo.Event{Operation: 0, Sequence: 7, Type: "INTERACTION_CREATE", RawData: []byte(`{"id":"1","token":"` + testInteractionToken + `"}`)}
	discordgo.Logger(discordgo.LogWarning, 1, "Expected READY/RESUMED, instead got:\n%#v\n", ev)
	discordgo.Logger(discordgo.LogWarning, 1, "raw bytes %#v", json.RawMessage(`{"token":"`+testInteractionToken+`"}`))

	// A line from inside discordgo, through its own msglog: an invalid handler type.
	s, _ := discordgo.New("Bot " + testBotToken)
	s.AddHandler(42)

	out := buf.String()
	if strings.Contains(out, "Identify Packet") {
		t.Errorf("debug line logged:\n%s", out)
	}
	for _, secret := range []string{testBotToken, testInteractionToken, "0x69, 0x74, 0x6f, 0x6b"} { // "itok" in hex
		if strings.Contains(out, secret) {
			t.Errorf("secret %q in log:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"level=ERROR msg=\"error unmarshalling READY event",
		"level=WARN msg=\"raw Bot [REDACTED]\"",
		"level=DEBUG msg=\"Rate Limiting https://discord.com/api/v9/webhooks/1/[token]/messages/@original",
		"plain token [REDACTED] in text",
		`Expected READY/RESUMED, instead got:\nEvent{Op: 0, Seq: 7, Type: \"INTERACTION_CREATE\"}`,
		"Invalid handler type",
		"source=discordgo",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestRedactShapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Authorization: Bot MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123", "Authorization: Bot [REDACTED]"},
		{"tok MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123 end", "tok [REDACTED] end"},
		{"aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpxd2VydHl1aW9w here", "[token] here"},
		{`{"token": "abc"}`, `{"token": "[REDACTED]"}`},
		{`"{\"token\":\"abc\",\"x\":1}"`, `"{\"token\":\"[REDACTED]\",\"x\":1}"`},
		{"Bot successfully connected", "Bot successfully connected"},
		{"/api/v9/interactions/123", "/api/v9/interactions/123"},
		{"GET /api/v9/applications/1/commands", "GET /api/v9/applications/1/commands"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
