package redact

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

const (
	tok                  = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdoaWprbG1ub3A"
	testInteractionToken = "itok-Zq9xR2-very-secret-interaction-token"
	testBotToken         = "test-bot-token-s3cr3t-value"
)

func TestErrorHidesTokens(t *testing.T) {
	ue := &url.Error{Op: "Patch", URL: "https://discord.com/api/v9/webhooks/123/" + tok + "/messages/@original", Err: errors.New("timeout")}
	cb := &url.Error{Op: "Post", URL: "http://127.0.0.1:9/api/v9/interactions/456/" + tok + "/callback?x=1", Err: errors.New("refused")}
	req, _ := http.NewRequest("PATCH", "https://discord.com/api/v9/webhooks/1/"+tok, nil)
	req.Header.Set("Authorization", "Bot MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-bot-token")
	re := &discordgo.RESTError{Request: req, Response: &http.Response{StatusCode: 401}, ResponseBody: []byte(`{"code":50027}`),
		Message: &discordgo.APIErrorMessage{Code: 50027, Message: "Invalid Webhook Token"}}
	for _, err := range []error{ue, cb, re, errors.Join(errors.New("wrapped"), ue)} {
		got := Error(err)
		if strings.Contains(got, tok) || strings.Contains(got, "secret-bot-token") {
			t.Errorf("secret in %q", got)
		}
	}
	if got := Error(re); got != "HTTP 401: code 50027 Invalid Webhook Token" {
		t.Errorf("RESTError = %q", got)
	}
	if got := Error(ue); !strings.Contains(got, "/webhooks/123/[token]/messages/@original") || !strings.Contains(got, "timeout") {
		t.Errorf("url.Error = %q", got)
	}
	if got := Text("Authorization: Bot MTIzNDU2Nzg5MDEyMzQ1Njc4.abc"); strings.Contains(got, "MTIz") {
		t.Errorf("Text = %q", got)
	}
}

func TestErrorURLError(t *testing.T) {
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
			got := Error(tt.err)
			if got != tt.want {
				t.Errorf("Error = %q\nwant      %q", got, tt.want)
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

func TestErrorRESTError(t *testing.T) {
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
		{"op error", Wrap("bot: register", re), "bot: register: HTTP 404: code 10062 Unknown interaction"},
		{"field errors", restError(400, `{"code": 50035, "errors": {"0": {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}}, "message": "Invalid Form Body"}`),
			`HTTP 400: code 50035 Invalid Form Body {"0": {"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}}`},
		{"no JSON body", restError(502, `<html>bad gateway</html>`), "HTTP 502"},
		{"no response", &discordgo.RESTError{Request: re.Request}, "HTTP 0"},
		{"no response, wrapped", fmt.Errorf("x: %w", &discordgo.RESTError{Request: re.Request}), "HTTP 0"},
		{"message carries a token", restError(400, `{"code": 1, "message": "bad /webhooks/1/`+testInteractionToken+`"}`), "HTTP 400: code 1 bad /webhooks/1/[token]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Error(tt.err)
			if got != tt.want {
				t.Errorf("Error = %q\nwant      %q", got, tt.want)
			}
			for _, secret := range []string{testBotToken, testInteractionToken, "Authorization", "authorization"} {
				if strings.Contains(got, secret) {
					t.Errorf("%q in %q", secret, got)
				}
			}
		})
	}
}

// panicky is an error whose Error method panics.
type panicky struct{}

func (panicky) Error() string { panic("no message") }

func TestErrorPanickingErrorMethod(t *testing.T) {
	if got, want := Error(panicky{}), "unprintable error of type redact.panicky"; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
}

func TestTextShapes(t *testing.T) {
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
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTextExtra(t *testing.T) {
	const it = "plain-interaction-token-xyz"
	tests := []struct {
		in    string
		extra []string
		want  string
	}{
		{"panic: bad " + it + " here", []string{it}, "panic: bad [token] here"},
		{"key sk-123 and sk-123", []string{"sk-123", ""}, "key [token] and [token]"},
		{"abc stays", []string{"abc"}, "abc stays"}, // shorter than 4: ignored
	}
	for _, tt := range tests {
		if got := Text(tt.in, tt.extra...); got != tt.want {
			t.Errorf("Text(%q, %q) = %q, want %q", tt.in, tt.extra, got, tt.want)
		}
	}
}

func TestRegister(t *testing.T) {
	// The registry is process-wide and keeps what it is given: use a string no other test (and no
	// earlier run of this one, with -count) has registered.
	secret := fmt.Sprintf("register-test-secret-Qw3-%d", time.Now().UnixNano())
	if got := Text("before " + secret); !strings.Contains(got, secret) {
		t.Fatalf("test setup: %q redacted before Register: %q", secret, got)
	}
	Register(secret)
	Register(secret) // twice is harmless
	Register("xyz")  // too short: ignored
	Register("")
	for _, tt := range []struct{ in, want string }{
		{"token " + secret + " in text", "token [REDACTED] in text"},
		{"glued" + secret + secret, "glued[REDACTED][REDACTED]"},
		{"xyz and empty stay", "xyz and empty stay"},
	} {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Error(fmt.Errorf("dial with %s: %w", secret, errors.New("refused"))); got != "dial with [REDACTED]: refused" {
		t.Errorf("Error = %q", got)
	}
	secrets.RLock()
	n := 0
	for _, x := range secrets.list {
		if x == secret {
			n++
		}
		if len(x) < 4 {
			t.Errorf("short string %q registered", x)
		}
	}
	secrets.RUnlock()
	if n != 1 {
		t.Errorf("%q registered %d times, want 1", secret, n)
	}
}
