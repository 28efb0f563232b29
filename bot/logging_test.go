package bot

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/internal/testkit"
)

const (
	testInteractionToken = "itok-Zq9xR2-very-secret-interaction-token"
	testBotToken         = "test-bot-token-s3cr3t-value"
)

func TestDiscordgoLoggerAdapter(t *testing.T) {
	var buf testkit.SyncBuffer
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
