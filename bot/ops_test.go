package bot

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
)

// counting is a RoundTripper that counts the requests it passes on.
type counting struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestConnectedFollowsTheGateway: Connected is false before Run, true once READY came, false while the
// gateway is lost and cannot be reached again, true after the reconnect, false after Run; every REST
// call went through the wrapped transport.
func TestConnectedFollowsTheGateway(t *testing.T) {
	fake, base := startDiscord(t, discordtest.WithLenientCommands())
	log, _ := testLogger()
	h := handlerFunc(func(context.Context, *discordgo.Session, *discordgo.InteractionCreate, RawInteraction) {})
	b, err := New(Config{Token: testBotToken, APIURL: base, Logger: log}, h)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := &counting{}
	b.WrapTransport(func(next http.RoundTripper) http.RoundTripper { wrapped.next = next; return wrapped })
	if b.Connected() {
		t.Fatal("connected before Run")
	}
	stop := startRun(t, b)
	waitDiscord(t, fake, "READY", func() bool { return fake.Sessions() == 1 })
	waitBot(t, "Connected", b.Connected)

	fake.SetGatewayFault(discordtest.GatewayDown)
	if n := fake.DropConnections(); n != 1 {
		t.Fatalf("cut %d gateway connections, want 1", n)
	}
	waitBot(t, "not Connected while the gateway is down", func() bool { return !b.Connected() })
	fake.SetGatewayFault(discordtest.GatewayUp)
	waitBot(t, "Connected again", func() bool { return fake.Sessions() == 2 && b.Connected() })

	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if b.Connected() {
		t.Error("connected after Run")
	}
	rest := len(fake.Requests())
	if n := int(wrapped.n.Load()); n == 0 || n < rest {
		t.Errorf("%d requests through the wrapped transport, the fake saw %d", n, rest)
	}
}

// waitBot waits until cond (about the bot, which the fake's changes do not signal) holds, re-checking
// it every few milliseconds, failing the test after 10 s.
func waitBot(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
