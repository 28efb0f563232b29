package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
	"github.com/viggle-bot/viggle-bot/store"
)

func backupJob(id string, at time.Time) *store.Job {
	return &store.Job{ID: id, Origin: store.OriginDiscord, OwnerID: alice, GuildID: guildID, ChannelID: channelID,
		InteractionID: "ix-" + id, InteractionToken: "tok-" + id, CreatedAt: at, UpdatedAt: at,
		Request: spec.Request{SceneID: "scene_demo", Mapping: []spec.Pair{{Person: "a", Character: "char_x"}}}}
}

// `backup --out FILE` while another connection (the running bot) keeps writing: the copy opens with
// store.Open and holds the rows, FILE has mode 0600, and the writer was never stopped.
func TestBackupCommandWhileTheBotWrites(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "data", "bot.db")
	live, err := store.Open(t.Context(), dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	base := time.Now().Add(-time.Hour)
	for i := range 20 {
		if err := live.Insert(t.Context(), backupJob(fmt.Sprintf("base%06d", i), base)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wrote := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := live.Insert(t.Context(), backupJob(fmt.Sprintf("live%06d", i), base)); err != nil {
				t.Errorf("the bot's insert during the backup: %v", err)
				return
			}
			select {
			case wrote <- struct{}{}:
			default:
			}
		}
	}()
	<-wrote
	out := filepath.Join(dir, "backup.db")
	var stdout bytes.Buffer
	vars := map[string]string{"DATABASE_PATH": dbPath}
	code, msg := runCLI(t, t.Context(), vars, &stdout, "backup", "--out", out)
	<-wrote // the bot still writes after the backup
	close(stop)
	wg.Wait()
	if code != 0 || !strings.HasPrefix(stdout.String(), "wrote "+out) {
		t.Fatalf("backup exited %d: %s\n%s", code, msg, stdout.String())
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	cp, err := store.Open(t.Context(), out, nil)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	for i := range 20 {
		j, err := cp.Get(t.Context(), fmt.Sprintf("base%06d", i))
		if err != nil || j.GuildID != guildID || j.OwnerID != alice {
			t.Fatalf("base%06d in the copy: %v, %v", i, j, err)
		}
	}
	if _, err := cp.Get(t.Context(), "live000000"); err != nil {
		t.Fatalf("the first row written before the backup is not in the copy: %v", err)
	}

	// A second backup to the same file is refused, and the file is left as it was.
	before, _ := os.ReadFile(out)
	code, msg = runCLI(t, t.Context(), vars, nil, "backup", "--out", out)
	if code != 2 || !strings.Contains(msg, "already exists") {
		t.Fatalf("backup over an existing file: exit %d, %q", code, msg)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("the existing file was changed")
	}
}

func TestBackupCommandRefusals(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nothing", "bot.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --out", []string{"backup"}, "--out"},
		{"extra argument", []string{"backup", "--out", filepath.Join(dir, "a.db"), "b.db"}, "unexpected argument"},
		{"unknown flag", []string{"backup", "--to", "x"}, "-to"},
		{"no database", []string{"backup", "--out", filepath.Join(dir, "b.db")}, "no database at " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := runCLI(t, t.Context(), map[string]string{"DATABASE_PATH": missing}, nil, tc.args...)
			if code != 2 || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, %q; want 2 and %q", code, msg, tc.want)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("backup created the database it was to copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused backup left a file: %v", err)
	}
}
