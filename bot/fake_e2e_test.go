package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
)

// TestRunWithFakeDiscord runs the bot against the project's fake Discord: registration to the guild
// or globally, a slash command reaching the Handler with attachment_size_limit, a panicking handler
// answered ephemerally, a clean stop without leftover goroutines, and no token in the logs.
func TestRunWithFakeDiscord(t *testing.T) {
	for _, tc := range []struct{ name, guildID string }{
		{"guild", discordtest.DefaultGuildID},
		{"global", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			fake := discordtest.New(discordtest.WithToken(testBotToken))
			base, stopFake, err := fake.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stopFake)

			seen := make(chan interactionSeen, 4)
			h := handlerFunc(func(ctx context.Context, s *discordgo.Session, i *discordgo.InteractionCreate, raw RawInteraction) {
				name := i.ApplicationCommandData().Name
				if name == "explode" {
					panic("explode " + i.Token)
				}
				seen <- interactionSeen{id: i.ID, name: name, token: i.Token, raw: raw, ctxErr: ctx.Err()}
			})
			cmds := []*discordgo.ApplicationCommand{
				{Name: "render", Description: "Render a video"},
				{Name: "explode", Description: "Panics"},
			}
			log, logs := testLogger()
			before := runtime.NumGoroutine()
			b, err := New(Config{Token: testBotToken, APIURL: base, GuildID: tc.guildID, Commands: cmds, Logger: log}, h)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-b.Ready():
				t.Fatal("Ready closed before Run")
			default:
			}
			stop := startRun(t, b)

			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := fake.WaitReady(wctx); err != nil {
				t.Fatal(err)
			}
			if err := fake.WaitFor(wctx, func() bool { return len(fake.Commands(tc.guildID)) == 2 }); err != nil {
				t.Fatalf("commands not registered in scope %q: %v", tc.guildID, err)
			}
			other := discordtest.DefaultGuildID
			if tc.guildID != "" {
				other = ""
			}
			if n := len(fake.Commands(other)); n != 0 {
				t.Errorf("%d commands registered in the other scope %q", n, other)
			}
			select {
			case <-b.Ready():
			case <-wctx.Done():
				t.Fatal("Ready not closed after READY")
			}
			var identify struct {
				Compress *bool `json:"compress"`
			}
			if ids := fake.Identifies(); len(ids) == 0 || json.Unmarshal(ids[0], &identify) != nil || identify.Compress == nil || *identify.Compress {
				got := "absent"
				if identify.Compress != nil {
					got = fmt.Sprint(*identify.Compress)
				}
				t.Errorf("IDENTIFY did not ask for uncompressed events (compress: %s)", got)
			}
			if got := b.AppID(); got != fake.AppID() {
				t.Errorf("AppID = %q, want %q", got, fake.AppID())
			}

			ia, err := fake.SendCommand(wctx, discordtest.SlashCommand{Name: "render", AttachmentSizeLimit: 26214400})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-seen:
				if s.id != ia.ID || s.name != "render" || s.raw.AttachmentSizeLimit != 26214400 || s.ctxErr != nil {
					t.Errorf("handler saw %+v, want %s with limit 26214400", s, ia.ID)
				}
			case <-wctx.Done():
				t.Fatal("the slash command did not reach the handler")
			}

			boom, err := fake.SendCommand(wctx, discordtest.SlashCommand{Name: "explode"})
			if err != nil {
				t.Fatal(err)
			}
			if err := fake.WaitFor(wctx, func() bool { return len(fake.Callbacks(boom.ID)) > 0 }); err != nil {
				t.Fatalf("no answer after the panic: %v", err)
			}
			cb := fake.Callbacks(boom.ID)[0]
			var resp struct {
				Type int `json:"type"`
				Data struct {
					Content string `json:"content"`
					Flags   int    `json:"flags"`
				} `json:"data"`
			}
			if err := json.Unmarshal(cb.JSON, &resp); err != nil {
				t.Fatalf("callback body %s: %v", cb.JSON, err)
			}
			if cb.Status >= 300 || resp.Type != 4 || resp.Data.Flags != 64 || resp.Data.Content != PanicReply {
				t.Errorf("panic answer: status %d body %s; want type 4, flags 64, %q", cb.Status, cb.JSON, PanicReply)
			}

			if err := stop(); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			waitGoroutines(t, before)
			assertNoSecrets(t, logs.String(), testBotToken, ia.Token, boom.Token)
		})
	}
}
