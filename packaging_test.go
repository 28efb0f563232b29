package main

// Checks of the packaging files (Dockerfile, .dockerignore, compose.yaml, deploy/) that need neither a
// Docker engine nor systemd: what can be read from the files, and that they agree with the code (the
// variable table, the embedded files, the exit codes) and with each other.

import (
	"bufio"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// isVariable reports whether name is in the configuration's variable table.
func isVariable(name string) bool {
	return slices.ContainsFunc(variables, func(v struct{ name, def, doc string }) bool { return v.name == name })
}

// --- Dockerfile ---

type dockerInstr struct {
	cmd, args string
	line      int
}

type dockerStage struct {
	image, name string
	instrs      []dockerInstr
}

// all returns the arguments of every instruction cmd of the stage.
func (s dockerStage) all(cmd string) []string {
	var out []string
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// env returns the variables the stage's ENV instructions set (KEY=VALUE form).
func (s dockerStage) env(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, args := range s.all("ENV") {
		for _, f := range strings.Fields(args) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				t.Fatalf("Dockerfile: ENV %q: use the KEY=VALUE form", args)
			}
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// parseDockerfile splits a Dockerfile into stages of instructions (comments dropped, continuation
// lines joined).
func parseDockerfile(t *testing.T, file string) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stages []dockerStage
	var cur strings.Builder
	start := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := dockerInstr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			return
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// debianOf names the Debian release of a base image: golang:1.27-trixie → 13, debian:bookworm-slim → 12,
// gcr.io/distroless/base-debian13:nonroot → 13 ("" if unknown).
func debianOf(image string) string {
	for name, n := range map[string]string{"bookworm": "12", "trixie": "13", "forky": "14"} {
		if strings.Contains(image, name) {
			return n
		}
	}
	if m := regexp.MustCompile(`-debian(\d+)`).FindStringSubmatch(image); m != nil {
		return m[1]
	}
	return ""
}

// goDirective is go.mod's go line as [major, minor].
func goDirective(t *testing.T) [2]int {
	t.Helper()
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return [2]int{major, minor}
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, run := stages[0], stages[len(stages)-1]

	// The build stage: Go with gcc (cgo for mattn/go-sqlite3), at least go.mod's language version,
	// allowed to switch to go.mod's toolchain line.
	m := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(build.image)
	if m == nil || build.name == "" || strings.Contains(build.image, "alpine") {
		t.Fatalf("build stage FROM %s AS %q: want a named golang:<version>-<debian> stage (glibc, gcc)", build.image, build.name)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if want := goDirective(t); major < want[0] || (major == want[0] && minor < want[1]) {
		t.Errorf("build stage Go %d.%d is older than go.mod's go %d.%d", major, minor, want[0], want[1])
	}
	benv := build.env(t)
	if benv["CGO_ENABLED"] != "1" || benv["GOTOOLCHAIN"] != "auto" {
		t.Errorf("build stage ENV = %v, want CGO_ENABLED=1 and GOTOOLCHAIN=auto", benv)
	}
	if !slices.ContainsFunc(build.all("RUN"), func(r string) bool { return strings.Contains(r, "go build") }) {
		t.Error("build stage never runs go build")
	}

	// The runtime stage: not the toolchain image, the same Debian release (the binary is linked against
	// the builder's glibc), the binary copied from the build stage.
	if strings.HasPrefix(run.image, "golang:") || strings.Contains(run.image, "alpine") || run.image == "scratch" {
		t.Errorf("runtime FROM %s: want a small glibc image (debian-slim or distroless/base)", run.image)
	}
	if b, r := debianOf(build.image), debianOf(run.image); b == "" || b != r {
		t.Errorf("build stage on Debian %q, runtime on Debian %q: a cgo binary needs the same glibc", b, r)
	}
	if !slices.ContainsFunc(run.all("COPY"), func(c string) bool { return strings.Contains(c, "--from="+build.name+" ") }) {
		t.Errorf("runtime stage copies nothing --from=%s", build.name)
	}

	// Not root.
	users := run.all("USER")
	if len(users) == 0 {
		t.Fatal("runtime stage has no USER: the bot would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1], ":")
	if user == "" || user == "root" || user == "0" {
		t.Errorf("runtime USER %q is root", users[len(users)-1])
	}

	// The database on a volume: DATABASE_PATH inside a VOLUME, and a variable of the table.
	renv := run.env(t)
	for k := range renv {
		if !isVariable(k) {
			t.Errorf("runtime ENV %s is not a variable of the configuration", k)
		}
	}
	db := renv["DATABASE_PATH"]
	var volumes []string
	for _, v := range run.all("VOLUME") {
		v = strings.Trim(v, "[]")
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			volumes = append(volumes, strings.Trim(f, `"`))
		}
	}
	if db == "" || !path.IsAbs(db) || !slices.Contains(volumes, path.Dir(db)) {
		t.Errorf("runtime DATABASE_PATH=%q, VOLUME %v: want the database in a volume", db, volumes)
	}

	// SIGTERM must reach the bot itself: an exec-form ENTRYPOINT (no shell as PID 1), no other stop signal.
	eps := run.all("ENTRYPOINT")
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "[") {
		t.Errorf("ENTRYPOINT %q: want one, in exec form", eps)
	}
	for _, s := range run.all("STOPSIGNAL") {
		if s != "SIGTERM" {
			t.Errorf("STOPSIGNAL %s: the bot shuts down cleanly on SIGTERM", s)
		}
	}
}

// --- .dockerignore ---

// dockerignored reports whether a path relative to the build context is left out by the patterns (in
// order, the last match wins, "!" re-includes; a pattern matching a parent folder leaves out what is in it).
func dockerignored(patterns []string, p string) bool {
	ignored := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.Trim(strings.TrimPrefix(pat, "!"), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pat); i++ {
			switch {
			case strings.HasPrefix(pat[i:], "**"):
				re.WriteString(".*")
				i++
			case pat[i] == '*':
				re.WriteString("[^/]*")
			case pat[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(pat[i : i+1]))
			}
		}
		re.WriteString("(/.*)?$")
		if regexp.MustCompile(re.String()).MatchString(p) {
			ignored = !neg
		}
	}
	return ignored
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	// The matcher itself.
	for p, want := range map[string]bool{"x.mp4": true, "a/x.mp4": false, "data/bot.db": true, ".env.example": false} {
		if got := dockerignored([]string{"/*.mp4", "data/", ".env*", "!.env.example"}, p); got != want {
			t.Fatalf("matcher: %s ignored = %v, want %v", p, got, want)
		}
	}
	// Secrets and local state stay out of the image.
	for _, p := range []string{".env", ".git/config", "data/bot.db", "bot.db", "bot.db-wal", "viggle-bot"} {
		if !dockerignored(patterns, p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	// What the build needs stays in: the sources, and every file a //go:embed of the binary names.
	need := []string{"go.mod", "go.sum", "main.go"}
	embed := regexp.MustCompile(`(?m)^//go:embed (.+)$`)
	err = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		need = append(need, filepath.ToSlash(p))
		for _, m := range embed.FindAllSubmatch(src, -1) {
			for _, g := range strings.Fields(string(m[1])) {
				files, _ := filepath.Glob(filepath.Join(filepath.Dir(p), g))
				if len(files) == 0 {
					t.Errorf("%s: //go:embed %s matches nothing", p, g)
				}
				for _, f := range files {
					need = append(need, filepath.ToSlash(f))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range need {
		if dockerignored(patterns, p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
}

// --- compose.yaml ---

// yamlLite reads the block-style subset of YAML that compose.yaml uses: "key: value", "key:" opening a
// map or a list, "- item". It returns the scalars by dotted path and the list items by their key's path.
func yamlLite(t *testing.T, file string) (scalars map[string]string, lists map[string][]string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scalars, lists = map[string]string{}, map[string][]string{}
	type level struct {
		indent int
		key    string
	}
	var stack []level
	keyRe := regexp.MustCompile(`^([A-Za-z0-9_.-]+):(?:\s+(.*))?$`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if i := strings.Index(text, " #"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent && !strings.HasPrefix(text, "- ") {
			stack = stack[:len(stack)-1]
		}
		var keys []string
		for _, l := range stack {
			keys = append(keys, l.key)
		}
		parent := strings.Join(keys, ".")
		if item, ok := strings.CutPrefix(text, "- "); ok {
			lists[parent] = append(lists[parent], strings.Trim(item, `"'`))
			continue
		}
		m := keyRe.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("%s:%d: not understood by this test's YAML reader: %q", file, n, line)
		}
		p := strings.TrimPrefix(parent+"."+m[1], ".")
		if m[2] == "" {
			stack = append(stack, level{indent, m[1]})
			continue
		}
		v := strings.Trim(m[2], `"'`)
		if strings.HasPrefix(v, "[") {
			for _, item := range strings.Split(strings.Trim(v, "[]"), ",") {
				lists[p] = append(lists[p], strings.Trim(strings.TrimSpace(item), `"'`))
			}
			continue
		}
		scalars[p] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return scalars, lists
}

func TestComposeFile(t *testing.T) {
	scalars, lists := yamlLite(t, "compose.yaml")
	const svc = "services.bot."
	for k, want := range map[string]string{"build": ".", "restart": "unless-stopped", "env_file": ".env"} {
		if got := scalars[svc+k]; got != want {
			t.Errorf("compose: %s = %q, want %q", k, got, want)
		}
	}
	if d, err := time.ParseDuration(scalars[svc+"stop_grace_period"]); err != nil || d < 2*time.Minute {
		t.Errorf("compose: stop_grace_period %q: want ≥ 2m, the longest a POST to Viggle in flight is finished for", scalars[svc+"stop_grace_period"])
	}

	// Every variable it sets is one of the table's, and the configuration accepts the values.
	envs := map[string]string{}
	for k, v := range scalars {
		if name, ok := strings.CutPrefix(k, svc+"environment."); ok {
			envs[name] = v
		}
	}
	if len(envs) == 0 {
		t.Fatal("compose: no environment block")
	}
	for k := range envs {
		if !isVariable(k) {
			t.Errorf("compose sets %s, which is not a variable of the configuration", k)
		}
	}
	// Also the variables in comments (the ones to uncomment).
	data, _ := os.ReadFile("compose.yaml")
	for _, m := range regexp.MustCompile(`(?m)^\s*#\s*([A-Z][A-Z0-9_]*):`).FindAllSubmatch(data, -1) {
		if !isVariable(string(m[1])) {
			t.Errorf("compose mentions %s, which is not a variable of the configuration", m[1])
		}
	}
	if _, err := loadConfig(func(k string) string { return envs[k] }); err != nil {
		t.Errorf("compose's environment: %v", err)
	}

	// The database on the named volume, at the path the image sets too.
	db := envs["DATABASE_PATH"]
	var mounted bool
	for _, v := range lists[svc+"volumes"] {
		src, dst, _ := strings.Cut(v, ":")
		if dst == path.Dir(db) && !strings.ContainsAny(src, "./") {
			mounted = true
			if !slices.Contains(topLevelKeys(t, "volumes"), src) {
				t.Errorf("compose: volume %s is not declared under volumes:", src)
			}
		}
	}
	if !mounted {
		t.Errorf("compose: DATABASE_PATH=%q is not on a named volume (%v)", db, lists[svc+"volumes"])
	}
	if img := parseDockerfile(t, "Dockerfile"); img[len(img)-1].env(t)["DATABASE_PATH"] != db {
		t.Errorf("compose's DATABASE_PATH %q differs from the Dockerfile's", db)
	}

	// HTTP_ADDR's port is published (on loopback: /metrics is not for the internet).
	_, port, _ := strings.Cut(envs["HTTP_ADDR"], ":")
	var published bool
	for _, p := range lists[svc+"ports"] {
		if strings.HasSuffix(p, ":"+port) {
			published = true
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("compose: port %q is published on every interface", p)
			}
		}
	}
	if port == "" || !published {
		t.Errorf("compose: HTTP_ADDR=%q, ports %v: want its port published", envs["HTTP_ADDR"], lists[svc+"ports"])
	}
}

// topLevelKeys lists the keys declared under a top-level key of compose.yaml whose value is empty (like
// "volumes:\n  data:"), which yamlLite keeps as open maps rather than scalars.
func topLevelKeys(t *testing.T, top string) []string {
	t.Helper()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case l == top+":":
			in = true
		case in && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   "):
			keys = append(keys, strings.TrimSuffix(strings.TrimSpace(l), ":"))
		case in && l != "" && !strings.HasPrefix(l, " "):
			in = false
		}
	}
	return keys
}

// The profile "postgres": PostgreSQL 17 with a volume, a pg_isready healthcheck and the password from .env,
// and two shards of the bot's image on it, started once it is healthy. Without the profile, compose runs
// the bot alone, as before.
func TestComposePostgresProfile(t *testing.T) {
	scalars, lists := yamlLite(t, "compose.yaml")
	var services []string
	for k := range scalars {
		if rest, ok := strings.CutPrefix(k, "services."); ok {
			if name, _, ok := strings.Cut(rest, "."); ok && !slices.Contains(services, name) {
				services = append(services, name)
			}
		}
	}
	slices.Sort(services)
	if want := []string{"bot", "postgres", "shard0", "shard1"}; !slices.Equal(services, want) {
		t.Fatalf("compose services %v, want %v", services, want)
	}
	// Only the bot runs without a profile; everything else is in "postgres" alone.
	if p := lists["services.bot.profiles"]; p != nil {
		t.Errorf("compose: the bot has profiles %v: without a profile it must run as before", p)
	}
	for _, s := range services[1:] {
		if p := lists["services."+s+".profiles"]; !slices.Equal(p, []string{"postgres"}) {
			t.Errorf("compose: %s has profiles %v, want [postgres]", s, p)
		}
	}

	const pg = "services.postgres."
	if got := scalars[pg+"image"]; got != "postgres:17" {
		t.Errorf("compose: postgres image %q, want postgres:17", got)
	}
	pwRef := regexp.MustCompile(`^\$\{POSTGRES_PASSWORD(:-)?\}$`)
	if got := scalars[pg+"environment.POSTGRES_PASSWORD"]; !pwRef.MatchString(got) {
		t.Errorf("compose: POSTGRES_PASSWORD=%q: want it from .env, ${POSTGRES_PASSWORD:-}", got)
	}
	user, dbName := scalars[pg+"environment.POSTGRES_USER"], scalars[pg+"environment.POSTGRES_DB"]
	if user == "" || dbName == "" {
		t.Errorf("compose: postgres needs POSTGRES_USER and POSTGRES_DB (got %q, %q)", user, dbName)
	}
	var dataVolume bool
	for _, v := range lists[pg+"volumes"] {
		src, dst, _ := strings.Cut(v, ":")
		if dst == "/var/lib/postgresql/data" && slices.Contains(topLevelKeys(t, "volumes"), src) {
			dataVolume = true
		}
	}
	if !dataVolume {
		t.Errorf("compose: postgres keeps its data in no declared volume at /var/lib/postgresql/data (%v)", lists[pg+"volumes"])
	}
	if hc := strings.Join(lists[pg+"healthcheck.test"], " "); !strings.Contains(hc, "pg_isready") ||
		!strings.Contains(hc, user) || !strings.Contains(hc, dbName) {
		t.Errorf("compose: postgres healthcheck %q: want pg_isready for %s on %s", hc, user, dbName)
	}
	if len(lists["services.postgres.ports"]) > 0 {
		t.Errorf("compose: postgres publishes %v: the shards reach it on compose's network", lists["services.postgres.ports"])
	}

	ports := map[string]string{}
	for _, p := range lists["services.bot.ports"] {
		ports[p] = "bot"
	}
	for i, s := range []string{"shard0", "shard1"} {
		svc := "services." + s + "."
		for _, k := range []string{"image", "env_file", "restart", "stop_grace_period", "build"} {
			if got, want := scalars[svc+k], scalars["services.bot."+k]; got != want {
				t.Errorf("compose: %s %s = %q, the bot's is %q", s, k, got, want)
			}
		}
		for _, k := range []string{"cap_drop", "security_opt"} {
			if got, want := lists[svc+k], lists["services.bot."+k]; !slices.Equal(got, want) {
				t.Errorf("compose: %s %s = %v, the bot's is %v", s, k, got, want)
			}
		}
		if got := scalars[svc+"depends_on.postgres.condition"]; got != "service_healthy" {
			t.Errorf("compose: %s depends on postgres %q, want condition: service_healthy", s, got)
		}
		envs := map[string]string{}
		for k, v := range scalars {
			if name, ok := strings.CutPrefix(k, svc+"environment."); ok {
				envs[name] = v
				if !isVariable(name) {
					t.Errorf("compose: %s sets %s, which is not a variable of the configuration", s, name)
				}
			}
		}
		if envs["SHARD_COUNT"] != "2" || envs["SHARD_ID"] != strconv.Itoa(i) {
			t.Errorf("compose: %s has SHARD_COUNT=%q SHARD_ID=%q, want 2 and %d", s, envs["SHARD_COUNT"], envs["SHARD_ID"], i)
		}
		u, err := url.Parse(strings.ReplaceAll(envs["DATABASE_URL"], "${POSTGRES_PASSWORD:-}", "hex0123"))
		if err != nil || u.Scheme != "postgres" || u.Host != "postgres:5432" || u.Path != "/"+dbName || u.User.Username() != user {
			t.Errorf("compose: %s DATABASE_URL=%q: want postgres://%s:${POSTGRES_PASSWORD:-}@postgres:5432/%s", s, envs["DATABASE_URL"], user, dbName)
		} else if pw, _ := u.User.Password(); pw != "hex0123" {
			t.Errorf("compose: %s DATABASE_URL=%q: the password must be ${POSTGRES_PASSWORD:-}, from .env", s, envs["DATABASE_URL"])
		}
		cfg, err := loadConfig(func(k string) string {
			if k == "DATABASE_URL" {
				return u.String()
			}
			return envs[k]
		})
		if err != nil {
			t.Errorf("compose: %s's environment: %v", s, err)
		} else if cfg.DatabaseURL == "" || cfg.ShardCount != 2 || cfg.ShardID != i {
			t.Errorf("compose: %s's configuration: database %s, shard %d of %d", s, cfg.Database(), cfg.ShardID, cfg.ShardCount)
		}
		// HTTP_ADDR published on loopback, on a port of its own.
		_, port, _ := strings.Cut(envs["HTTP_ADDR"], ":")
		var published bool
		for _, p := range lists[svc+"ports"] {
			if other, ok := ports[p]; ok {
				t.Errorf("compose: %s publishes %s as %s does", s, p, other)
			}
			ports[p] = s
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("compose: %s publishes %q on every interface", s, p)
			}
			published = published || strings.HasSuffix(p, ":"+port)
		}
		if port == "" || !published {
			t.Errorf("compose: %s HTTP_ADDR=%q, ports %v: want its port published", s, envs["HTTP_ADDR"], lists[svc+"ports"])
		}
	}
}

// --- deploy/ ---

// parseUnit reads a systemd unit file: section → key → values (a key may be given several times).
func parseUnit(t *testing.T, file string) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string]map[string][]string{}
	section := ""
	for n, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = strings.Trim(l, "[]")
			unit[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q", file, n+1, l)
			}
			unit[section][k] = append(unit[section][k], v)
		}
	}
	return unit
}

// systemdSeconds parses a systemd time span of the forms "30", "30s", "1min", "1min 30s".
func systemdSeconds(s string) (time.Duration, bool) {
	var total time.Duration
	for _, f := range strings.Fields(s) {
		i := strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' })
		if i == 0 {
			return 0, false
		}
		num, unit := f, "s"
		if i > 0 {
			num, unit = f[:i], f[i:]
		}
		n, _ := strconv.Atoi(num)
		mult, ok := map[string]time.Duration{"s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute}[unit]
		if !ok {
			return 0, false
		}
		total += time.Duration(n) * mult
	}
	return total, total > 0
}

func TestSystemdUnit(t *testing.T) {
	unit := parseUnit(t, "deploy/viggle-bot.service")
	svc := unit["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	one := func(k string) string {
		if v := svc[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}

	// Its own user: a dynamic one, or one that deploy/viggle-bot.sysusers creates.
	if one("DynamicUser") != "yes" {
		user := one("User")
		if user == "" || user == "root" || user == "0" {
			t.Fatalf("User=%q: want a dedicated user (or DynamicUser=yes)", user)
		}
		sysusers, err := os.ReadFile("deploy/viggle-bot.sysusers")
		if err != nil || !regexp.MustCompile(`(?m)^u!? `+regexp.QuoteMeta(user)+` `).Match(sysusers) {
			t.Errorf("User=%s is not created by deploy/viggle-bot.sysusers (%v)", user, err)
		}
	}
	// The database in the state directory, which is the working directory (DATABASE_PATH's default is
	// relative), and the settings from the environment file.
	if sd := one("StateDirectory"); sd == "" || one("WorkingDirectory") != "/var/lib/"+sd {
		t.Errorf("StateDirectory=%q WorkingDirectory=%q: want the state directory as working directory", sd, one("WorkingDirectory"))
	}
	if got := svc["EnvironmentFile"]; !slices.Equal(got, []string{"/etc/viggle-bot/env"}) {
		t.Errorf("EnvironmentFile=%v, want /etc/viggle-bot/env", got)
	}
	for _, e := range svc["Environment"] {
		for _, f := range strings.Fields(e) {
			if k, _, _ := strings.Cut(strings.Trim(f, `"`), "="); !isVariable(k) {
				t.Errorf("Environment=%s is not a variable of the configuration", k)
			}
		}
	}
	if exe := strings.Fields(one("ExecStart")); len(exe) != 1 || !path.IsAbs(exe[0]) {
		t.Errorf("ExecStart=%q: want the binary alone (the bot), by absolute path", one("ExecStart"))
	}

	// Restarts, but not on a configuration error (exit code 2: restarting would not fix it); a clean stop.
	if one("Restart") != "on-failure" || !slices.Contains(strings.Fields(one("RestartPreventExitStatus")), "2") {
		t.Errorf("Restart=%q RestartPreventExitStatus=%q: want on-failure, and not after exit 2", one("Restart"), one("RestartPreventExitStatus"))
	}
	if one("KillSignal") != "SIGTERM" {
		t.Errorf("KillSignal=%q, want SIGTERM", one("KillSignal"))
	}
	if d, ok := systemdSeconds(one("TimeoutStopSec")); !ok || d < 2*time.Minute {
		t.Errorf("TimeoutStopSec=%q: want ≥ 2m, the longest a POST to Viggle in flight is finished for", one("TimeoutStopSec"))
	}

	// Hardening.
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
		"ProtectControlGroups": "yes", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes",
		"LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
	} {
		if _, ok := svc[k]; !ok || one(k) != want {
			t.Errorf("%s=%q (set: %v), want %q", k, one(k), ok, want)
		}
	}
	// …that still lets it reach Discord and Viggle.
	fams := strings.Fields(one("RestrictAddressFamilies"))
	if !slices.Contains(fams, "AF_INET") || !slices.Contains(fams, "AF_INET6") {
		t.Errorf("RestrictAddressFamilies=%v: the bot needs AF_INET and AF_INET6", fams)
	}
	if got := unit["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("WantedBy=%v, want multi-user.target", got)
	}
}

// .env.example is also the systemd EnvironmentFile and compose's env_file: each line must mean the same to
// godotenv, systemd and compose, so no quotes, no spaces around "=", no "export".
func TestEnvExampleIsPortable(t *testing.T) {
	data, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^[A-Z][A-Z0-9_]*=[^\s"'$\\]*$`)
	for n, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !line.MatchString(l) {
			t.Errorf(".env.example:%d: %q is not read alike by systemd, compose and godotenv", n+1, l)
		}
	}
}

func TestReadmeDocumentsPackaging(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, s := range []string{"## Run with Docker", "## Run with systemd", "`Dockerfile`", "`compose.yaml`",
		"`.dockerignore`", "`deploy/viggle-bot.service`", "`deploy/viggle-bot.sysusers`", "/livez", "/readyz"} {
		if !strings.Contains(readme, s) {
			t.Errorf("README.md does not mention %s", s)
		}
	}
	// Every file under deploy/ is documented.
	files, _ := filepath.Glob("deploy/*")
	for _, f := range files {
		if !strings.Contains(readme, "`"+filepath.ToSlash(f)+"`") {
			t.Errorf("README.md does not mention %s", f)
		}
	}
}
