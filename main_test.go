package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/discordtest"
	"github.com/viggle-bot/viggle-bot/internal/viggletest"
	"github.com/viggle-bot/viggle-bot/store"
)

const cliKey = "sk-CLI-SECRET-key-1234"

// runCLI runs the program in-process as main would, with the given environment.
func runCLI(t *testing.T, ctx context.Context, vars map[string]string, stdout io.Writer, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	if stdout == nil {
		stdout = io.Discard
	}
	code := run(ctx, "viggle-bot", args, env(vars), stdout, &stderr)
	if strings.Contains(stderr.String(), cliKey) {
		t.Fatalf("the API key reached standard error:\n%s", stderr.String())
	}
	return code, stderr.String()
}

func TestHelpListsCommandsAndVariables(t *testing.T) {
	var out bytes.Buffer
	code, _ := runCLI(t, t.Context(), nil, &out, "--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"render", "DISCORD_TOKEN", "VIGGLE_API_KEY", "VIGGLE_API_URL", "DISCORD_API_URL",
		"DATABASE_PATH", "VIGGLE_POLL_INTERVAL", "VIGGLE_MAX_RPS", "RENDER_TIMEOUT", "DISCORD_GUILD_ID"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	if code, _ := runCLI(t, t.Context(), nil, nil, "render", "--help"); code != 0 {
		t.Errorf("render --help exited %d", code)
	}
	if code, msg := runCLI(t, t.Context(), nil, nil); code != 2 || !strings.Contains(msg, "render") {
		t.Errorf("no arguments: exit %d, %q", code, msg)
	}
}

func TestRenderBadInputExits2BeforeViggle(t *testing.T) {
	fake, u := startViggle(t)
	vars := map[string]string{"VIGGLE_API_URL": u, "VIGGLE_API_KEY": cliKey, "DATABASE_PATH": filepath.Join(t.TempDir(), "bot.db")}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no map", []string{"--scene", "scene_demo"}, nil, "--map"},
		{"pair without =", []string{"--scene", "scene_demo", "--map", "person_a=x, person_b"}, nil, `"person_b"`},
		{"same person twice", []string{"--scene", "scene_demo", "--map", "a=x;a=y"}, nil, "twice"},
		{"quote in scene", []string{"--scene", `scene"demo`, "--map", "a=x"}, nil, "scene"},
		{"bad background", []string{"--scene", "s", "--map", "a=x", "--background", "green"}, nil, "background"},
		{"bg-color with original", []string{"--scene", "s", "--map", "a=x", "--background", "original", "--bg-color", "0,255,0"}, nil, "bg_color"},
		{"bad color", []string{"--scene", "s", "--map", "a=x", "--bg-color", "300,0,0"}, nil, "bg_color"},
		{"bad model", []string{"--scene", "s", "--map", "a=x", "--model", "V5"}, nil, "model"},
		{"resume with other flags", []string{"--resume", "abc", "--fast"}, nil, "--resume"},
		{"unknown flag", []string{"--scene", "s", "--map", "a=x", "--colour", "red"}, nil, "colour"},
		{"out folder missing", []string{"--scene", "s", "--map", "a=x", "--out", "/nonexistent/dir/x.mp4"}, nil, "does not exist"},
		{"bad poll interval", []string{"--scene", "s", "--map", "a=x"}, map[string]string{"VIGGLE_POLL_INTERVAL": "0"}, "VIGGLE_POLL_INTERVAL"},
		{"bad rps", []string{"--scene", "s", "--map", "a=x"}, map[string]string{"VIGGLE_MAX_RPS": "fast"}, "VIGGLE_MAX_RPS"},
		{"discord url with path", []string{"--scene", "s", "--map", "a=x"}, map[string]string{"DISCORD_API_URL": "https://discord.com/api"}, "DISCORD_API_URL"},
		{"no key", []string{"--scene", "s", "--map", "a=x"}, map[string]string{"VIGGLE_API_KEY": ""}, "VIGGLE_API_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := map[string]string{}
			for k, x := range vars {
				v[k] = x
			}
			for k, x := range tc.env {
				v[k] = x
			}
			code, msg := runCLI(t, t.Context(), v, nil, append([]string{"render"}, tc.args...)...)
			if code != 2 || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and a message containing %q", code, msg, tc.want)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("bad input made %d calls to Viggle", n)
	}
}

func TestRenderMockWritesPlayableVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("the mock's demo scene takes a few seconds")
	}
	dir := t.TempDir()
	vars := map[string]string{"VIGGLE_API_URL": "mock", "DATABASE_PATH": filepath.Join(dir, "data", "bot.db"), "VIGGLE_POLL_INTERVAL": "200ms"}
	var out bytes.Buffer
	outFile := filepath.Join(dir, "demo.mp4")
	code, msg := runCLI(t, t.Context(), vars, &out, "render", "--scene", "scene_demo", "--map", "person_a=char_alice", "--out", outFile)
	if code != 0 {
		t.Fatalf("exit %d: %s\nstdout:\n%s", code, msg, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 4 || strings.ContainsAny(lines[0], " \t") || len(lines[0]) != 10 {
		t.Fatalf("stdout should start with the job id alone, then progress lines:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "running") || lines[len(lines)-1] != "delivered" {
		t.Fatalf("no progress or final line:\n%s", out.String())
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(viggletest.Video(0))
	if !bytes.Equal(got, want) || string(got[4:8]) != "ftyp" {
		t.Fatalf("wrote %d bytes, not the mock's MP4 (%d bytes)", len(got), len(want))
	}
	st, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatalf("data folder: %v", err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("data folder mode %v, want 0700", st.Mode().Perm())
	}
}

// lineWatcher is a stdout that calls fn for each complete line.
type lineWatcher struct {
	mu  sync.Mutex
	buf bytes.Buffer
	fn  func(string)
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.fn(strings.TrimSuffix(line, "\n"))
	}
}

func TestRenderCtrlCThenResume(t *testing.T) {
	fake, u := startViggle(t, viggletest.WithAPIKey(cliKey), viggletest.WithScenarios(map[string]viggletest.Scenario{
		"scene_x": {Polls: 5, Steps: 4},
	}))
	dir := t.TempDir()
	vars := map[string]string{"VIGGLE_API_URL": u, "VIGGLE_API_KEY": cliKey, "DATABASE_PATH": filepath.Join(dir, "bot.db"), "VIGGLE_POLL_INTERVAL": "10ms"}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var id string
	w := &lineWatcher{fn: func(l string) {
		if id == "" {
			id = l
		}
		if strings.HasPrefix(l, "running") {
			cancel() // Ctrl-C while the render runs at Viggle
		}
	}}
	code, msg := runCLI(t, ctx, vars, w, "render", "--scene", "scene_x", "--map", "a=b", "--out", filepath.Join(dir, "x.mp4"))
	if code != 130 || !strings.Contains(msg, "--resume "+id) {
		t.Fatalf("Ctrl-C: exit %d, %q; want 130 and how to resume", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.mp4")); err == nil {
		t.Fatal("a file was written before the render finished")
	}

	var out bytes.Buffer
	code, msg = runCLI(t, t.Context(), vars, &out, "render", "--resume", id)
	if code != 0 {
		t.Fatalf("resume: exit %d %s\n%s", code, msg, out.String())
	}
	if !strings.HasPrefix(out.String(), id+"\n") {
		t.Fatalf("resume output should start with the job id:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "x.mp4")); err != nil {
		t.Fatalf("resume wrote no file: %v", err)
	}
	if n := fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs across Ctrl-C and resume, want 1", n)
	}
	// Resuming a finished job reports it again without any call.
	before := len(fake.Requests())
	if code, _ := runCLI(t, t.Context(), vars, nil, "render", "--resume", id); code != 0 || len(fake.Requests()) != before {
		t.Fatalf("resume of a delivered job: exit %d, %d new calls", code, len(fake.Requests())-before)
	}
}

func TestRenderExitCodes(t *testing.T) {
	_, u := startViggle(t, viggletest.WithAPIKey(cliKey), viggletest.WithScenarios(map[string]viggletest.Scenario{
		"scene_fail":      {Polls: 2, FailCode: "CS-UORC01-009", FailMessage: "Rendering failed"},
		"scene_nocredits": {SubmitStatus: 402, SubmitCode: "CS-UORC01-008", SubmitMessage: "Insufficient credits"},
	}))
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot.db")
	vars := map[string]string{"VIGGLE_API_URL": u, "VIGGLE_API_KEY": cliKey, "DATABASE_PATH": dbPath, "VIGGLE_POLL_INTERVAL": "10ms"}

	code, msg := runCLI(t, t.Context(), vars, nil, "render", "--scene", "scene_fail", "--map", "a=b", "--out", filepath.Join(dir, "f.mp4"))
	if code != 1 || !strings.Contains(msg, "CS-UORC01-009") || !strings.Contains(msg, "Viggle job id") {
		t.Fatalf("failed render: exit %d %q", code, msg)
	}
	code, msg = runCLI(t, t.Context(), vars, nil, "render", "--scene", "scene_nocredits", "--map", "a=b", "--out", filepath.Join(dir, "n.mp4"))
	if code != 1 || !strings.Contains(msg, "CS-UORC01-008") || !strings.Contains(msg, "credits") {
		t.Fatalf("no credits: exit %d %q", code, msg)
	}
	if code, msg := runCLI(t, t.Context(), vars, nil, "render", "--resume", "nosuchjob"); code != 2 || !strings.Contains(msg, "no job") {
		t.Fatalf("unknown job: exit %d %q", code, msg)
	}
	// A job of the bot's cannot be resumed from the terminal.
	db, err := store.Open(t.Context(), dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	bj := &store.Job{ID: "botjob1234", Origin: store.OriginDiscord, OwnerID: "u", InteractionID: "i1", State: store.StateQueued}
	bj.Request.SceneID = "s"
	bj.Request.Mapping = nil
	if err := db.Insert(t.Context(), bj); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, msg := runCLI(t, t.Context(), vars, nil, "render", "--resume", "botjob1234"); code != 2 || !strings.Contains(msg, "Discord") {
		t.Fatalf("bot job: exit %d %q", code, msg)
	}
}

func TestRenderOutcomeUnknownExits3(t *testing.T) {
	fake := viggletest.New(viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_x": {Polls: 1}}))
	// A proxy that takes the POST and hangs up without an answer: it may have reached Viggle.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	vars := map[string]string{"VIGGLE_API_URL": srv.URL, "VIGGLE_API_KEY": cliKey, "DATABASE_PATH": filepath.Join(dir, "bot.db")}
	var out bytes.Buffer
	code, msg := runCLI(t, t.Context(), vars, &out, "render", "--scene", "scene_x", "--map", "a=b", "--out", filepath.Join(dir, "x.mp4"))
	if code != 3 || !strings.Contains(msg, "may have") {
		t.Fatalf("exit %d %q, want 3 (outcome unknown)", code, msg)
	}
	id := strings.SplitN(out.String(), "\n", 2)[0]
	// Resuming sends nothing again and says the same.
	if code, _ := runCLI(t, t.Context(), vars, nil, "render", "--resume", id); code != 3 {
		t.Fatalf("resume of an interrupted job: exit %d, want 3", code)
	}
}

func TestRenderLocalErrorExits4ThenResumes(t *testing.T) {
	fake, u := startViggle(t, viggletest.WithAPIKey(cliKey), viggletest.WithScenarios(map[string]viggletest.Scenario{"scene_x": {Polls: 4, Steps: 3}}))
	dir := t.TempDir()
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"VIGGLE_API_URL": u, "VIGGLE_API_KEY": cliKey, "DATABASE_PATH": filepath.Join(dir, "bot.db"), "VIGGLE_POLL_INTERVAL": "10ms"}
	var id string
	w := &lineWatcher{fn: func(l string) {
		if id == "" {
			id = l
		}
		if strings.HasPrefix(l, "running") {
			os.RemoveAll(outDir) // the disk goes away under the render
		}
	}}
	code, msg := runCLI(t, t.Context(), vars, w, "render", "--scene", "scene_x", "--map", "a=b", "--out", filepath.Join(outDir, "x.mp4"))
	if code != 4 || !strings.Contains(msg, "--resume "+id) {
		t.Fatalf("exit %d %q, want 4 and how to resume", code, msg)
	}
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, msg := runCLI(t, t.Context(), vars, nil, "render", "--resume", id); code != 0 {
		t.Fatalf("resume after the folder came back: exit %d %q", code, msg)
	}
	if _, err := os.Stat(filepath.Join(outDir, "x.mp4")); err != nil {
		t.Fatal(err)
	}
	if n := fake.Creates(); n != 1 {
		t.Fatalf("%d POSTs", n)
	}
}

// startViggle starts a fake Viggle built with opts and returns it with its URL; it stops when the test
// (or benchmark) ends.
func startViggle(t testing.TB, opts ...viggletest.Option) (*viggletest.Server, string) {
	t.Helper()
	v := viggletest.New(opts...)
	u, stop, err := v.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return v, u
}

// startDiscord starts a fake Discord that knows the tests' bot token and guild, with opts, and returns
// it with its URL; it stops when the test (or benchmark) ends.
func startDiscord(t testing.TB, opts ...discordtest.Option) (*discordtest.Server, string) {
	t.Helper()
	d := discordtest.New(append([]discordtest.Option{discordtest.WithToken(discordToken), discordtest.WithGuild(guildID)}, opts...)...)
	trackDiscord(d)
	u, stop, err := d.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d, u
}
