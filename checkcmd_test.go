package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viggle-bot/viggle-bot/bot"
	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/pgtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

// checkEnv starts the fakes (the fake Discord knows discordToken, the fake Viggle cliKey) and returns
// the variables of a good configuration.
func checkEnv(t *testing.T) (map[string]string, *discordtest.Server, *viggletest.Server) {
	t.Helper()
	d, du := startDiscord(t)
	v, vu := startViggle(t, viggletest.WithAPIKey(cliKey))
	return map[string]string{
		"DISCORD_TOKEN": discordToken, "DISCORD_API_URL": du,
		"VIGGLE_API_URL": vu, "VIGGLE_API_KEY": cliKey,
		"DATABASE_PATH": filepath.Join(t.TempDir(), "data", "bot.db"),
	}, d, v
}

// runCheck runs `check` in-process and returns its exit code and its lines; it fails the test if a
// secret reached either output, or if a line is neither "ok …" nor "problem: …".
func runCheck(t *testing.T, vars map[string]string) (int, []string) {
	t.Helper()
	var out bytes.Buffer
	code, stderr := runCLI(t, t.Context(), vars, &out, "check")
	for _, s := range []string{discordToken, cliKey, "fake-DISCORD-SECRET", "sk-WRONG", "WRONG-token"} {
		if strings.Contains(out.String(), s) || strings.Contains(stderr, s) {
			t.Fatalf("a secret (%.8s…) was printed:\n%s\n%s", s, out.String(), stderr)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") && !strings.HasPrefix(l, "problem: ") {
			t.Errorf("line %q is neither ok nor a problem", l)
		}
	}
	return code, lines
}

func problems(lines []string) []string {
	var p []string
	for _, l := range lines {
		if strings.HasPrefix(l, "problem: ") {
			p = append(p, l)
		}
	}
	return p
}

func hasLine(lines []string, prefix string, parts ...string) bool {
	for _, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

func TestCheckGoodConfiguration(t *testing.T) {
	vars, d, v := checkEnv(t)
	code, lines := runCheck(t, vars)
	if code != 0 || len(problems(lines)) != 0 {
		t.Fatalf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	for _, want := range [][]string{
		{"ok configuration"},
		{"ok database", vars["DATABASE_PATH"], "migrations applied"},
		{"ok Discord accepted DISCORD_TOKEN", discordtest.DefaultAppID},
		{"ok invite URL: " + bot.InviteURL(discordtest.DefaultAppID)},
		{"ok Viggle accepted VIGGLE_API_KEY", "1000 credits"},
	} {
		if !hasLine(lines, want[0], want[1:]...) {
			t.Errorf("no line %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if len(d.Find("GET", "/users/@me")) != 1 {
		t.Errorf("GET /users/@me sent %d times, want 1", len(d.Find("GET", "/users/@me")))
	}
	if n := v.Count("GET", "/api/credits"); n != 1 {
		t.Errorf("GET /api/credits sent %d times, want 1", n)
	}
	// The database was created and migrated: the bot (and a test) opens it as it is.
	db, err := store.Open(t.Context(), vars["DATABASE_PATH"], nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestCheckEachBadSetting(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  map[string]string
		code int
		want []string // in the one problem line
		ok   []string // lines still printed for the other checks
	}{
		{"bad token", map[string]string{"DISCORD_TOKEN": "Bot WRONG-token"}, 1,
			[]string{"Discord refused DISCORD_TOKEN", "401", "Reset Token"}, []string{"ok database", "ok Viggle accepted"}},
		{"no token", map[string]string{"DISCORD_TOKEN": ""}, 1,
			[]string{"DISCORD_TOKEN is not set"}, []string{"ok database", "ok Viggle accepted"}},
		{"bad Viggle key", map[string]string{"VIGGLE_API_KEY": "sk-WRONG-key-0000"}, 1,
			[]string{"Viggle refused VIGGLE_API_KEY", "401"}, []string{"ok database", "ok Discord accepted", "ok invite URL"}},
		{"no Viggle key", map[string]string{"VIGGLE_API_KEY": ""}, 1,
			[]string{"VIGGLE_API_KEY is not set", "ALLOW_SHARED_KEY=false"}, []string{"ok Discord accepted"}},
		{"bad database path", map[string]string{"DATABASE_PATH": filepath.Join(notADir, "bot.db")}, 1,
			[]string{"database", "DATABASE_PATH=" + filepath.Join(notADir, "bot.db")}, []string{"ok Discord accepted", "ok Viggle accepted"}},
		{"bad variable", map[string]string{"VIGGLE_POLL_INTERVAL": "often"}, 2,
			[]string{"VIGGLE_POLL_INTERVAL", `"often"`}, []string{"ok database", "ok Discord accepted", "ok Viggle accepted"}},
		{"bad Discord URL", map[string]string{"DISCORD_API_URL": "https://discord.com/api"}, 2,
			[]string{"DISCORD_API_URL"}, []string{"ok database", "ok Viggle accepted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars, _, _ := checkEnv(t)
			for k, v := range tc.set {
				vars[k] = v
			}
			code, lines := runCheck(t, vars)
			p := problems(lines)
			if code != tc.code || len(p) != 1 {
				t.Fatalf("exit %d with %d problems, want %d and one:\n%s", code, len(p), tc.code, strings.Join(lines, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(p[0], w) {
					t.Errorf("the problem %q does not say %q", p[0], w)
				}
			}
			for _, o := range tc.ok {
				if !hasLine(lines, o) {
					t.Errorf("no line %q:\n%s", o, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// Two bad variables: one line each, both named.
func TestCheckOneLinePerProblem(t *testing.T) {
	vars, _, _ := checkEnv(t)
	vars["VIGGLE_MAX_RPS"] = "fast"
	vars["LOG_FORMAT"] = "yaml"
	code, lines := runCheck(t, vars)
	p := problems(lines)
	if code != 2 || len(p) != 2 || !hasLine(p, "problem: VIGGLE_MAX_RPS") || !hasLine(p, "problem: LOG_FORMAT") {
		t.Fatalf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
}

func TestCheckSkipsTheViggleKey(t *testing.T) {
	for name, set := range map[string]map[string]string{
		"mock":          {"VIGGLE_API_URL": "mock", "VIGGLE_API_KEY": ""},
		"own keys only": {"ALLOW_SHARED_KEY": "false", "VIGGLE_API_KEY": ""},
	} {
		t.Run(name, func(t *testing.T) {
			vars, _, v := checkEnv(t)
			for k, x := range set {
				vars[k] = x
			}
			code, lines := runCheck(t, vars)
			if code != 0 || !hasLine(lines, "ok Viggle: ") {
				t.Fatalf("exit %d:\n%s", code, strings.Join(lines, "\n"))
			}
			if n := len(v.Requests()); n != 0 {
				t.Fatalf("%d calls to Viggle", n)
			}
		})
	}
}

// With HTTP interactions, check compares DISCORD_PUBLIC_KEY with the application's Public Key.
func TestCheckComparesThePublicKey(t *testing.T) {
	vars, d, _ := checkEnv(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	d.SetInteractionsEndpoint("http://127.0.0.1:1/interactions", priv) // the application's key is pub
	vars["INTERACTIONS_ADDR"] = "127.0.0.1:0"
	vars["DISCORD_PUBLIC_KEY"] = hex.EncodeToString(pub)
	if code, lines := runCheck(t, vars); code != 0 || !hasLine(lines, "ok DISCORD_PUBLIC_KEY") {
		t.Fatalf("the right key: exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	other, _, _ := ed25519.GenerateKey(nil)
	vars["DISCORD_PUBLIC_KEY"] = hex.EncodeToString(other)
	if code, lines := runCheck(t, vars); code == 0 || !hasLine(lines, "problem: DISCORD_PUBLIC_KEY is not this application's Public Key") {
		t.Fatalf("a wrong key: exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
}

// On PostgreSQL, check opens and migrates the database DATABASE_URL names, and says so without the
// password (the test server trusts loopback, so a made-up password still connects); backup points to
// pg_dump instead of copying.
func TestCheckAndBackupOnPostgres(t *testing.T) {
	vars, _, _ := checkEnv(t)
	u, err := url.Parse(pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "pw-SECRET-9")
	vars["DATABASE_URL"] = u.String()
	code, lines := runCheck(t, vars)
	out := strings.Join(lines, "\n")
	if code != 0 || !hasLine(lines, "ok database PostgreSQL", ":xxxxx@", "migrations applied (schema version 7)") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, msg := runCLI(t, t.Context(), vars, nil, "backup", "--out", filepath.Join(t.TempDir(), "copy"))
	if code != 2 || !strings.Contains(msg, "pg_dump") || strings.Contains(msg, "pw-SECRET-9") {
		t.Fatalf("backup on PostgreSQL: exit %d %q", code, msg)
	}
	if strings.Contains(out, "pw-SECRET-9") {
		t.Fatalf("check printed the password:\n%s", out)
	}
	// A server that refuses: one problem line, still without the password.
	u.Host = "127.0.0.1:1"
	vars["DATABASE_URL"] = u.String()
	code, lines = runCheck(t, vars)
	if out := strings.Join(lines, "\n"); code == 0 || !hasLine(problems(lines), "problem: database (DATABASE_URL=") || strings.Contains(out, "pw-SECRET-9") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
