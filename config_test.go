package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ViggleAPIURL != "https://apis.viggle.ai" || c.DiscordAPIURL != "https://discord.com" ||
		c.DatabasePath != "./data/bot.db" || c.PollInterval != 3*time.Second || c.MaxRPS != 10 ||
		c.RenderTimeout != 2*time.Hour || c.GuildID != "" || c.Mock() {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigValues(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"VIGGLE_API_URL": "mock", "DISCORD_API_URL": "http://127.0.0.1:8080/", "DATABASE_PATH": "/tmp/x.db",
		"VIGGLE_POLL_INTERVAL": "250ms", "VIGGLE_MAX_RPS": "0.5", "RENDER_TIMEOUT": "90m", "DISCORD_GUILD_ID": "123",
		"VIGGLE_POLL_INTERVAL_UNUSED": "x", "LOG_LEVEL": "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Mock() || c.DiscordAPIURL != "http://127.0.0.1:8080" || c.PollInterval != 250*time.Millisecond ||
		c.MaxRPS != 0.5 || c.RenderTimeout != 90*time.Minute || c.GuildID != "123" || c.LogLevel != slog.LevelDebug {
		t.Fatalf("config = %+v", c)
	}
	// An empty value means unset.
	c, err = loadConfig(env(map[string]string{"VIGGLE_POLL_INTERVAL": "", "VIGGLE_API_URL": " "}))
	if err != nil || c.PollInterval != 3*time.Second || c.ViggleAPIURL != "https://apis.viggle.ai" {
		t.Fatalf("empty values: %+v %v", c, err)
	}
}

func TestConfigInvalid(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"VIGGLE_POLL_INTERVAL", "0"},
		{"VIGGLE_POLL_INTERVAL", "-3s"},
		{"VIGGLE_POLL_INTERVAL", "3"},
		{"RENDER_TIMEOUT", "soon"},
		{"RENDER_TIMEOUT", "0s"},
		{"VIGGLE_MAX_RPS", "ten"},
		{"VIGGLE_MAX_RPS", "0"},
		{"VIGGLE_MAX_RPS", "-1"},
		{"VIGGLE_MAX_RPS", "NaN"},
		{"DISCORD_API_URL", "https://discord.com/api/v10"},
		{"DISCORD_API_URL", "discord.com"},
		{"DISCORD_API_URL", "ftp://discord.com"},
		{"VIGGLE_API_URL", "not a url"},
		{"VIGGLE_API_URL", "https://apis.viggle.ai/?key=1"},
		{"VIGGLE_API_URL", "https://user:sk-PASTED-SECRET@apis.viggle.ai"},
		{"VIGGLE_API_URL", "https://apis.viggle.ai/?key=sk-PASTED-SECRET"},
		{"VIGGLE_API_URL", "https://user:sk-PASTED-SECRET@apis.viggle.ai:po/"},
		{"DISCORD_API_URL", "https://bot:PASTED-SECRET@discord.com"},
		{"DISCORD_API_URL", "https://discord.com?token=PASTED-SECRET"},
		{"DISCORD_API_URL", "https://bot:PASTED-SECRET@discord.com:po/"},
		{"LOG_LEVEL", "loud"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := loadConfig(env(map[string]string{tc.name: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("err = %v, want one naming %s", err, tc.name)
			}
			if strings.Contains(err.Error(), "PASTED-SECRET") {
				t.Fatalf("err = %v: it repeats the credential pasted into the URL", err)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const tok, key = "MTIz.discord-token-SECRET", "sk-viggle-SECRET-key"
	c, err := loadConfig(env(map[string]string{"DISCORD_TOKEN": tok, "VIGGLE_API_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscordToken.Reveal() != tok || c.ViggleAPIKey.Reveal() != key {
		t.Fatal("Reveal does not return the secret")
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v %s ", c, c, c, c.ViggleAPIKey)
	js, _ := json.Marshal(c)
	buf.Write(js)
	log := newLogger(&buf, slog.LevelDebug)
	log.Info("config", "config", c, "key", c.ViggleAPIKey, "token", tok, "discord_token", tok, "authorization", "Bearer "+key)
	out := buf.String()
	if strings.Contains(out, "SECRET") {
		t.Fatalf("a secret was printed:\n%s", out)
	}
	if !strings.Contains(out, redacted) {
		t.Fatalf("no redaction marker in:\n%s", out)
	}
}

func TestDotenvRealValueWinsEmptyMeansUnset(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("VB_TEST_A=from-file\nVB_TEST_B=from-file\nVB_TEST_C=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VB_TEST_A", "from-env")
	t.Setenv("VB_TEST_B", "") // exported but empty: unset
	os.Unsetenv("VB_TEST_C")
	t.Cleanup(func() { os.Unsetenv("VB_TEST_C") })
	if err := loadDotenv(path); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"VB_TEST_A": "from-env", "VB_TEST_B": "from-file", "VB_TEST_C": "from-file"} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if err := loadDotenv(filepath.Join(t.TempDir(), "missing.env")); err != nil {
		t.Errorf("a missing .env: %v", err)
	}
}

// .env.example documents every variable, with its default as the value where it has one.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, v := range variables {
		want := v.name + "=" + v.def
		if !slices.Contains(lines, want) {
			t.Errorf(".env.example has no line %q", want)
		}
	}
}

func TestConfigCommunity(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || !c.AllowSharedKey || c.EncryptionKey != "" || c.OwnerIDs != nil {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	hexKey := strings.Repeat("ab", 32)
	c, err = loadConfig(env(map[string]string{"ALLOW_SHARED_KEY": "false", "BOT_ENCRYPTION_KEY": hexKey,
		"BOT_OWNER_IDS": " 111, 222 ,"}))
	if err != nil || c.AllowSharedKey || c.EncryptionKey.Reveal() != hexKey || !slices.Equal(c.OwnerIDs, []string{"111", "222"}) {
		t.Fatalf("values: %+v %v", c, err)
	}
	for _, tc := range []struct{ name, value string }{
		{"ALLOW_SHARED_KEY", "maybe"},
		{"BOT_ENCRYPTION_KEY", "abcd"},
		{"BOT_ENCRYPTION_KEY", strings.Repeat("zz", 32)},
		{"BOT_OWNER_IDS", "111,alice"},
	} {
		_, err := loadConfig(env(map[string]string{tc.name: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%q: err = %v, want one naming the variable", tc.name, tc.value, err)
		}
		if tc.name == "BOT_ENCRYPTION_KEY" && err != nil && strings.Contains(err.Error(), tc.value) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

func TestConfigOperations(t *testing.T) {
	pk := strings.Repeat("ab", 32)
	c, err := loadConfig(env(map[string]string{"LOG_FORMAT": "JSON", "HTTP_ADDR": ":8080", "DISCORD_PUBLIC_KEY": pk,
		"INTERACTIONS_ADDR": ":8081", "SHARD_ID": "1", "SHARD_COUNT": "2"}))
	if err != nil || !c.LogJSON || c.HTTPAddr != ":8080" || !c.HTTPInteractions() || len(c.DiscordPublicKey) != 32 ||
		c.ShardID != 1 || c.ShardCount != 2 {
		t.Fatalf("values: %+v %v", c, err)
	}
	if c, err := loadConfig(env(nil)); err != nil || c.LogJSON || c.HTTPInteractions() || c.ShardCount != 0 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, tc := range []struct {
		vars map[string]string
		name string
	}{
		{map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{map[string]string{"DISCORD_PUBLIC_KEY": "abcd", "INTERACTIONS_ADDR": ":1"}, "DISCORD_PUBLIC_KEY"},
		{map[string]string{"DISCORD_PUBLIC_KEY": pk}, "INTERACTIONS_ADDR"},
		{map[string]string{"SHARD_ID": "1"}, "SHARD_COUNT"},
		{map[string]string{"SHARD_ID": "2", "SHARD_COUNT": "2"}, "SHARD_ID"},
		{map[string]string{"SHARD_COUNT": "0"}, "SHARD_COUNT"},
		{map[string]string{"SHARD_ID": "-1", "SHARD_COUNT": "2"}, "SHARD_ID"},
	} {
		if _, err := loadConfig(env(tc.vars)); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%v: err = %v, want one naming %s", tc.vars, err, tc.name)
		}
	}
}

// A whole Config in a log line shows every setting but no secret, whatever the handler.
func TestConfigLogValueRedactsSecrets(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"DISCORD_TOKEN": "tok-SECRET-1", "VIGGLE_API_KEY": "sk-SECRET-2",
		"BOT_ENCRYPTION_KEY": strings.Repeat("cd", 32), "DATABASE_PATH": "/var/lib/bot.db",
		"DATABASE_URL": "postgres://bot:pw-SECRET-3@db.example:5432/bot?sslmode=require"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("config", "config", c)
		out := b.String()
		for _, s := range []string{"tok-SECRET-1", "sk-SECRET-2", strings.Repeat("cd", 32), "pw-SECRET-3"} {
			if strings.Contains(out, s) {
				t.Errorf("a secret reached the log: %s", out)
			}
		}
		if !strings.Contains(out, "/var/lib/bot.db") || !strings.Contains(out, redacted) || !strings.Contains(out, "bot:xxxxx@db.example:5432/bot") {
			t.Errorf("the log line does not show the settings: %s", out)
		}
	}
}

// DATABASE_URL's password is not in what Config prints, nor in the message of a URL that is refused.
func TestDatabaseURLNeverShowsThePassword(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"DATABASE_URL": "postgres://bot:pw-SECRET@db:5432/bot"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(c.DatabaseURL), fmt.Sprintf("%v %+v %#v %s", c, c, c, c.DatabaseURL), c.Database()} {
		if strings.Contains(out, "pw-SECRET") || !strings.Contains(out, "db:5432") {
			t.Errorf("printed: %s", out)
		}
	}
	for _, bad := range []string{"mysql://bot:pw-SECRET@db/bot", "postgres://bot:pw-SECRET@db:port/bot", "host=db password=pw-SECRET"} {
		_, err := loadConfig(env(map[string]string{"DATABASE_URL": bad}))
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "pw-SECRET") {
			t.Errorf("DATABASE_URL=%q: %v", bad, err)
		}
	}
}

// README.md's configuration table names every variable.
func TestReadmeListsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variables {
		if !strings.Contains(string(b), "| `"+v.name+"` |") {
			t.Errorf("README.md's configuration table has no row for %s", v.name)
		}
	}
}
