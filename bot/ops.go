package bot

import "net/http"

// What the operations endpoints (HTTP_ADDR) need of the bot.

// WrapTransport wraps the transport of the session's REST client (every REST call, gateway discovery
// included) with wrap, such as a RoundTripper counting Discord's errors. Call it before Run.
func (b *Bot) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) {
	b.s.Client.Transport = wrap(b.s.Client.Transport)
}

// Connected reports whether the gateway session is up: the bot had its first READY, and discordgo
// holds an open websocket it heartbeats on (it marks that after each heartbeat it sends, and clears it
// when the connection closes, lost or shut down). It is false before Run and after it. In HTTP
// interactions mode, which has no gateway, it reports whether POST /interactions is being served.
func (b *Bot) Connected() bool {
	if b.AppID() == "" {
		return false
	}
	if b.hh != nil {
		return b.serving()
	}
	b.s.RLock()
	defer b.s.RUnlock()
	return b.s.DataReady
}
