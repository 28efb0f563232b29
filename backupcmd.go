package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/terminal"
)

const backupUsage = `usage: %[1]s backup --out FILE

Writes a consistent copy of the database (DATABASE_PATH) to FILE, which must not exist yet, with
mode 0600 (it holds what the database holds). It is safe while the bot runs: the bot goes on
writing, and the copy is the database as it was at one instant. Restore by stopping the bot and
putting the copy in place of DATABASE_PATH (removing its -wal and -shm files).

With DATABASE_URL (PostgreSQL) it copies nothing and says how to use pg_dump instead.

exit codes: 0 written; 2 bad arguments or configuration, FILE exists, no database, or PostgreSQL; 4 a local error.
`

// backupCommand is `BIN backup --out FILE`.
func backupCommand(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("backup", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	out := fset.String("out", "", "")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, backupUsage, prog)
			return 0
		}
		fmt.Fprintf(stderr, "error: %v; see %s backup --help\n", err, prog)
		return terminal.ExitBadInput
	}
	switch {
	case fset.NArg() > 0:
		fmt.Fprintf(stderr, "error: unexpected argument %q; see %s backup --help\n", fset.Arg(0), prog)
		return terminal.ExitBadInput
	case *out == "":
		fmt.Fprintf(stderr, "error: --out FILE is required (a file that does not exist yet)\n")
		return terminal.ExitBadInput
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "error: configuration: %v\n", err)
		return terminal.ExitBadInput
	}
	if cfg.DatabaseURL != "" {
		fmt.Fprintf(stderr, "error: the database is PostgreSQL (DATABASE_URL=%s): back it up with PostgreSQL's own tools, which copy a live database consistently:\n  pg_dump --format=custom --file=%s \"$DATABASE_URL\"\nand restore it with pg_restore --dbname=\"$DATABASE_URL\" %s\n", cfg.DatabaseURL, *out, *out)
		return terminal.ExitBadInput
	}
	// Opening would create an empty database: a backup of nothing is a mistake to say.
	if _, err := os.Stat(cfg.DatabasePath); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "error: there is no database at %s (DATABASE_PATH)\n", cfg.DatabasePath)
		return terminal.ExitBadInput
	}
	if _, err := os.Lstat(*out); err == nil {
		fmt.Fprintf(stderr, "error: %s already exists; a backup never replaces a file\n", *out)
		return terminal.ExitBadInput
	}
	log := cfg.logger(stderr, slog.LevelWarn)
	db, err := store.Open(ctx, cfg.DatabasePath, log)
	if err != nil {
		fmt.Fprintf(stderr, "error: open the database %s: %v\n", cfg.DatabasePath, err)
		return terminal.ExitLocal
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Warn("close database", "err", err)
		}
	}()
	if err := db.Backup(ctx, *out); err != nil {
		if errors.Is(err, store.ErrBackupExists) {
			fmt.Fprintf(stderr, "error: %s already exists; a backup never replaces a file\n", *out)
			return terminal.ExitBadInput
		}
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitLocal
	}
	size := int64(-1)
	if fi, err := os.Stat(*out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, size)
	return terminal.ExitDelivered
}
