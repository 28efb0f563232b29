package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// parseJSONLines parses every line of logs as one JSON object, failing the test on any other line.
func parseJSONLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not one JSON object: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// LOG_FORMAT=json has the text handler's redaction: by name, whatever the value's type.
func TestJSONLoggerRedacts(t *testing.T) {
	var buf bytes.Buffer
	c := Config{DiscordToken: "SECRET-discord", ViggleAPIKey: "SECRET-viggle", EncryptionKey: "SECRET-enc"}
	newLoggerFormat(&buf, slog.LevelDebug, true).Info("config", "config", c, "token", "SECRET-raw",
		"viggle_api_key", "SECRET-raw2", "authorization", "Bearer SECRET-raw3", "key_ref", "ref-1")
	if strings.Contains(buf.String(), "SECRET") {
		t.Fatalf("a secret was logged: %s", buf.String())
	}
	l := parseJSONLines(t, buf.String())[0]
	if l["token"] != redacted || l["viggle_api_key"] != redacted || l["authorization"] != redacted || l["key_ref"] != "ref-1" {
		t.Fatalf("line %v", l)
	}
	if cfg, _ := l["config"].(map[string]any); cfg["discord_token"] != redacted || cfg["database_path"] == nil {
		t.Fatalf("config group %v", l["config"])
	}
}

// The bot with LOG_FORMAT=json: every line of a render's life parses, and each line naming the job
// names its guild and user too (the interaction's line as well).
func TestBotJSONLogsNameTheJobsGuildAndUser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newBotEnv(t, map[string]viggletest.Scenario{"scene_ok": {Polls: 3, VideoSize: 64 << 10}})
	e.vars["LOG_FORMAT"] = "json"
	e.start(t)
	i := e.command(t, alice, 0, "render", map[string]any{"scene": "scene_ok", "map": "person_a=char_x"})
	if m := e.final(t, i); !strings.HasPrefix(m.Content, "**Done!**") {
		t.Fatalf("final %q", m.Content)
	}
	j := e.waitJob(t, alice, i, "the job closed", func(j *store.Job) bool { return !j.ClosedAt.IsZero() })

	msgs := map[string]bool{}
	interaction := false
	for _, l := range parseJSONLines(t, e.logs.String()) {
		if l["msg"] == "interaction" && l["route"] == "render" {
			interaction = true
			if l["guild"] != guildID || l["user"] != alice {
				t.Errorf("the interaction's line %v lacks its guild or user", l)
			}
		}
		id, ok := l["job"]
		if !ok || id != j.ID {
			continue
		}
		msgs[l["msg"].(string)] = true
		if l["guild"] != guildID || l["user"] != alice {
			t.Errorf("line %v names job %s without guild %s and user %s", l, j.ID, guildID, alice)
		}
	}
	if !interaction {
		t.Errorf("no interaction line for /render")
	}
	for _, want := range []string{"render submitted", "render complete", "delivered"} {
		if !msgs[want] {
			t.Errorf("no line %q naming the job; lines naming it: %v", want, msgs)
		}
	}
}
