package redact

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

const tok = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdoaWprbG1ub3A"

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
	if got := Secret("key sk-123 and sk-123", "sk-123", ""); strings.Contains(got, "sk-123") {
		t.Errorf("Secret = %q", got)
	}
}
