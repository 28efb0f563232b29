// Package redact renders errors and text from Discord calls without their secrets: interaction tokens
// travel in URL paths (/interactions/{id}/{token}/callback, /webhooks/{app}/{token}/…), which *url.Error
// strings repeat, and discordgo's *RESTError keeps the whole request, Authorization header included.
package redact

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/bwmarrin/discordgo"
)

var tokenPath = regexp.MustCompile(`(/(?:interactions|webhooks)/[^/\s"']+/)[^/\s"'?]+`)
var botToken = regexp.MustCompile(`(?i)\b(Bot|Bearer)\s+[A-Za-z0-9._\-]{16,}`)

// Text removes token path segments and Authorization-style credentials from s.
func Text(s string) string {
	s = tokenPath.ReplaceAllString(s, "${1}[token]")
	return botToken.ReplaceAllString(s, "$1 [redacted]")
}

// Error renders err for a log line: a *discordgo.RESTError as its status and Discord's code and
// message only (never its request), anything else through Text.
func Error(err error) string {
	if err == nil {
		return ""
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if re.Message != nil {
			return fmt.Sprintf("HTTP %d: code %d %s", re.Response.StatusCode, re.Message.Code, Text(re.Message.Message))
		}
		return fmt.Sprintf("HTTP %d", re.Response.StatusCode)
	}
	return Text(err.Error())
}

// Secret removes every occurrence of each non-empty secret from s.
func Secret(s string, secrets ...string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}
