package discordtest

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bwmarrin/discordgo"
)

// NewSession returns a discordgo session for token (without the "Bot " prefix) whose requests for
// https://discord.com go to the fake at baseURL, path unchanged; not yet open. Its intents are GUILDS,
// it does not reconnect by itself, and discordgo's own logging is off (tests read errors instead).
// For tests of code that takes a session; the bot itself builds its own (package bot).
func NewSession(baseURL, token string) (*discordgo.Session, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("discordtest: session: base URL: %w", err)
	}
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, fmt.Errorf("discordtest: session: %w", err)
	}
	s.Client = &http.Client{Timeout: 10 * time.Second, Transport: rewrite{origin: u, next: http.DefaultTransport}}
	s.Identify.Intents = discordgo.IntentsGuilds
	s.ShouldReconnectOnError = false
	s.LogLevel = -1
	return s, nil
}

// rewrite sends requests for https://discord.com to origin, path unchanged.
type rewrite struct {
	origin *url.URL
	next   http.RoundTripper
}

func (rt rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "discord.com" {
		r = r.Clone(r.Context())
		r.URL.Scheme = rt.origin.Scheme
		r.URL.Host = rt.origin.Host
		r.Host = rt.origin.Host
	}
	return rt.next.RoundTrip(r)
}
