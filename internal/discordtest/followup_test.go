package discordtest

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/internal/discordtest/openapi"
	"github.com/viggle-bot/viggle-bot/internal/testkit"
)

// ownerOnly is the follow-up the bot sends when a render ends: it mentions only the owner.
func ownerOnly(content string, flags int) map[string]any {
	return map[string]any{
		"content":          content,
		"flags":            flags,
		"allowed_mentions": map[string]any{"parse": []string{}, "users": []string{DefaultUserID}},
	}
}

func TestFollowups(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fake, base := startFake(t, WithLenientCommands(), WithClock(clk.Now))
	drainedGateway(t, fake, base)
	const other = "400000000000000009"
	answered := func(t *testing.T) *Interaction {
		t.Helper()
		in := interact(t, fake, base, SlashCommand{Name: "render"})
		if status, _, body := call(t, base, "POST", cbPath(in), map[string]any{"type": 5}, ""); status != 204 {
			t.Fatalf("defer = %d %v", status, body)
		}
		if status, _, body := call(t, base, "PATCH", hookPath(in, "/messages/@original"), map[string]any{"content": "Done"}, ""); status != 200 {
			t.Fatalf("edit original = %d %v", status, body)
		}
		return in
	}

	t.Run("in the channel, mentioning only the owner", func(t *testing.T) {
		in := answered(t)
		content := "<@" + DefaultUserID + "> your render is done (<@" + other + "> is not pinged)"
		for _, q := range []string{"?wait=true", ""} {
			status, _, body := call(t, base, "POST", hookPath(in, q), ownerOnly(content, 0), "")
			m, _ := body.(map[string]any)
			if status != 200 || m["id"] == nil || m["channel_id"] != DefaultChannelID || m["content"] != content {
				t.Fatalf("follow-up%s = %d %v, want the message object", q, status, body)
			}
			meta, _ := m["interaction_metadata"].(map[string]any)
			if meta["id"] != in.ID || m["webhook_id"] != DefaultAppID {
				t.Errorf("follow-up message %v, want it tied to interaction %s", m, in.ID)
			}
		}
		fu := fake.Followups(in.ID)
		if len(fu) != 2 {
			t.Fatalf("Followups = %d messages, want 2", len(fu))
		}
		orig, _ := fake.Original(in.ID)
		for _, m := range fu {
			if m.ID == orig.ID || m.Ephemeral() || m.InteractionID != in.ID || m.ChannelID != DefaultChannelID {
				t.Errorf("follow-up %+v (original %s)", m, orig.ID)
			}
			am, ok := m.Mentions()
			if !ok || len(am.Parse) != 0 || !slices.Equal(am.Users, []string{DefaultUserID}) {
				t.Errorf("Mentions = %+v, %v; want only users [%s]", am, ok, DefaultUserID)
			}
			if got := m.PingedUsers(); !slices.Equal(got, []string{DefaultUserID}) {
				t.Errorf("PingedUsers = %v, want only the owner", got)
			}
		}
		visible := fake.ChannelMessages(DefaultChannelID)
		for _, m := range fu {
			if !containsID(visible, m.ID) {
				t.Errorf("follow-up %s is not in the channel", m.ID)
			}
		}
	})

	t.Run("ephemeral", func(t *testing.T) {
		in := answered(t)
		status, _, body := call(t, base, "POST", hookPath(in, "?wait=true"), ownerOnly("only you", FlagEphemeral), "")
		if m, _ := body.(map[string]any); status != 200 || m["flags"] != float64(FlagEphemeral) {
			t.Fatalf("ephemeral follow-up = %d %v", status, body)
		}
		fu := fake.Followups(in.ID)
		if len(fu) != 1 || !fu[0].Ephemeral() || containsID(fake.ChannelMessages(DefaultChannelID), fu[0].ID) {
			t.Fatalf("Followups = %+v, want one ephemeral message not in the channel", fu)
		}
	})

	t.Run("no allowed_mentions pings everyone mentioned", func(t *testing.T) {
		in := answered(t)
		call(t, base, "POST", hookPath(in, ""), map[string]any{"content": "<@" + other + "> <@!" + DefaultUserID + "> <@" + other + ">"}, "")
		fu := fake.Followups(in.ID)
		if len(fu) != 1 {
			t.Fatalf("Followups = %+v", fu)
		}
		if _, ok := fu[0].Mentions(); ok {
			t.Error("Mentions ok without allowed_mentions")
		}
		if got := fu[0].PingedUsers(); !slices.Equal(got, []string{other, DefaultUserID}) {
			t.Errorf("PingedUsers = %v", got)
		}
	})

	t.Run("refused after the token expired", func(t *testing.T) {
		in := answered(t)
		fake.ExpireToken(in.Token)
		status, _, body := call(t, base, "POST", hookPath(in, "?wait=true"), ownerOnly("late", 0), "")
		wantError(t, status, body, 401, CodeInvalidWebhookToken)
		if fu := fake.Followups(in.ID); len(fu) != 0 {
			t.Errorf("Followups = %+v after a refused follow-up", fu)
		}

		late := answered(t)
		clk.Advance(TokenLifetime)
		status, _, body = call(t, base, "POST", hookPath(late, ""), ownerOnly("late", 0), "")
		wantError(t, status, body, 401, CodeInvalidWebhookToken)
		if fu := fake.Followups(late.ID); len(fu) != 0 {
			t.Errorf("Followups = %+v after 15 minutes", fu)
		}
	})

	t.Run("conforms to the OpenAPI description", func(t *testing.T) {
		v, err := openapi.Load()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range fake.Requests() {
			if r.Method != http.MethodPost || !strings.HasPrefix(r.Route, "/webhooks/") {
				continue
			}
			if err := v.Check(r.Method, r.Path, r.JSON, false, nil); err != nil {
				t.Errorf("follow-up request: %v", err)
			}
			n++
		}
		if n < 5 {
			t.Errorf("checked %d follow-ups, want every one of the test's", n)
		}
	})
}

// TestDelayAfter: a failure that lets Discord act but holds the answer back works for the edit of the
// original response and for the follow-up POST: the message changes, the client gets no answer.
func TestDelayAfter(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t, WithLenientCommands())
	drainedGateway(t, fake, base)
	in := interact(t, fake, base, SlashCommand{Name: "render"})
	if status, _, _ := call(t, base, "POST", cbPath(in), map[string]any{"type": 4, "data": map[string]any{"content": "Rendering"}}, ""); status != 204 {
		t.Fatal("answer failed")
	}
	// send gives up after a short wait, as a client that crashed or timed out would.
	send := func(method, path, body string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name, method, pattern, path, body string
		done                              func() bool
	}{
		{"edit original", http.MethodPatch, "/webhooks/*/*/messages/@original", hookPath(in, "/messages/@original"),
			`{"content": "Done"}`, func() bool { m, _ := fake.Original(in.ID); return m.Content == "Done" }},
		{"follow-up", http.MethodPost, "/webhooks/*/*", hookPath(in, "?wait=true"),
			`{"content": "<@` + DefaultUserID + `> done", "allowed_mentions": {"users": ["` + DefaultUserID + `"]}}`,
			func() bool { return len(fake.Followups(in.ID)) == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.FailNext(tc.method, tc.pattern, Failure{DelayAfter: time.Minute})
			start := time.Now()
			if err := send(tc.method, tc.path, tc.body); err == nil {
				t.Fatal("the client got an answer, want none within the delay")
			}
			if !tc.done() {
				t.Fatal("the request was not processed before the answer was held back")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			// The next request is answered normally.
			if err := send(tc.method, tc.path, tc.body); err != nil {
				t.Errorf("next request: %v", err)
			}
		})
	}
	if fu := fake.Followups(in.ID); len(fu) != 2 {
		t.Errorf("Followups = %d, want 2 (one held back, one answered)", len(fu))
	}
}

// TestArrived: a request whose answer is held back is counted by Arrived at once, and recorded in
// Requests only once answered.
func TestArrived(t *testing.T) {
	t.Parallel()
	fake, base := startFake(t)
	fake.FailNext(http.MethodPost, "/channels/*/messages", Failure{Delay: time.Minute, Status: 503})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v9/channels/"+DefaultChannelID+"/messages",
			strings.NewReader(`{"content": "x"}`))
		req.Header.Set("Authorization", "Bot "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, fake, "the request to arrive", func() bool { return fake.Arrived(http.MethodPost, "/channels/*/messages") == 1 })
	if n := len(fake.Find(http.MethodPost, "/channels/*/messages")); n != 0 {
		t.Errorf("Find = %d while the answer is held, want 0", n)
	}
	if n := fake.Arrived(http.MethodGet, "/channels/*/messages"); n != 0 {
		t.Errorf("Arrived for another method = %d", n)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("the held request was answered")
	}
	waitFor(t, fake, "the request recorded", func() bool { return len(fake.Find(http.MethodPost, "/channels/*/messages")) == 1 })
	if n := len(fake.ChannelMessages(DefaultChannelID)); n != 0 {
		t.Errorf("%d messages created by a refused request", n)
	}
}
