package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrBackupExists is returned (wrapped) by Backup when its output file already exists: a backup never
// replaces a file.
var ErrBackupExists = errors.New("store: backup: the output file already exists")

// ErrBackupPostgres is returned by Backup on PostgreSQL: its own tools copy a live database
// consistently (pg_dump, or the operator's base backups), and the bot does not hold its files.
var ErrBackupPostgres = errors.New("store: backup: the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=FILE \"$DATABASE_URL\")")

// Backup writes a consistent copy of the database to out (VACUUM INTO), a file that must not exist
// yet; it is created with mode 0600, since the copy holds what the database holds (interaction tokens,
// the servers' sealed Viggle keys). The copy is one read transaction's snapshot: in WAL mode other
// connections, another process's included, go on writing meanwhile, and what they commit after the
// snapshot is not in the copy. It waits for this DB's connection like any other low-priority work.
// On error no output file is left behind.
func (db *DB) Backup(ctx context.Context, out string) (err error) {
	if db.pg {
		return ErrBackupPostgres
	}
	if out == "" {
		return errors.New("store: backup: no output file")
	}
	// Created empty here (SQLite accepts an empty file), so it gets its mode and no other
	// file of that name can appear between the check and the copy.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrBackupExists, out)
	}
	if err != nil {
		return fmt.Errorf("store: backup: create %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(out)
		return fmt.Errorf("store: backup: create %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(out)
		}
	}()
	// umask may have taken bits away, never added any; make sure of 0600 exactly.
	if err := os.Chmod(out, 0o600); err != nil {
		return fmt.Errorf("store: backup: chmod %s: %w", out, err)
	}
	if err := db.gate.lock(ctx, false); err != nil {
		return fmt.Errorf("store: backup to %s: %w", out, err)
	}
	defer db.gate.unlock()
	if _, err := db.sql.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("store: backup to %s: %w", out, err)
	}
	// VACUUM INTO does not sync its output: make the copy durable before saying it is done.
	f, err = os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: backup: sync %s: %w", out, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: backup: sync %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup: sync %s: %w", out, err)
	}
	return nil
}
