package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// GuildKey is a guild's own Viggle key, sealed by package keyring (the store never sees it in clear).
type GuildKey struct {
	ID, GuildID string
	Sealed      []byte // nonce || ciphertext
	Last4       string // the key's last four characters, shown as "…abcd"
	CreatedBy   string
	CreatedAt   time.Time
	RetiredAt   time.Time // zero: the guild's current key
}

// String describes the key without its sealed bytes (they are not secret without BOT_ENCRYPTION_KEY,
// but have no business in a log). It is also what %v and %+v print.
func (k GuildKey) String() string {
	state := "current"
	if !k.RetiredAt.IsZero() {
		state = "retired"
	}
	return fmt.Sprintf("guildkey{id=%s guild=%s …%s %s}", k.ID, k.GuildID, k.Last4, state)
}

// GoString makes %#v print the same description as String.
func (k GuildKey) GoString() string { return k.String() }

const guildKeyColumns = `id, guild_id, sealed, last4, created_by, created_at, retired_at`

func scanGuildKey(s scanner) (*GuildKey, error) {
	var (
		k                GuildKey
		created, retired sql.NullInt64
	)
	if err := s.Scan(&k.ID, &k.GuildID, &k.Sealed, &k.Last4, &k.CreatedBy, &created, &retired); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMillis(created)
	k.RetiredAt = fromMillis(retired)
	return &k, nil
}

// SetGuildKey makes k its guild's current key, in one transaction: it retires the current one (kept
// while a job, scene or character in progress uses it: see PurgeRetiredKeys), inserts k and logs c
// (c.GuildID "" means k.GuildID). An empty k.ID is set to NewID(), a zero CreatedAt to now (both written
// back to k). k.Sealed is stored as given. It returns ErrDuplicate when the id exists.
func (db *DB) SetGuildKey(ctx context.Context, k *GuildKey, c Change) error {
	switch {
	case k.GuildID == "":
		return errors.New("store: set guild key: empty guild id")
	case len(k.Sealed) == 0:
		return fmt.Errorf("store: set key of guild %s: nothing sealed", k.GuildID)
	case !k.RetiredAt.IsZero():
		return fmt.Errorf("store: set key of guild %s: the new key is retired", k.GuildID)
	}
	if k.ID == "" {
		k.ID = NewID()
	}
	now := db.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	}
	if c.GuildID == "" {
		c.GuildID = k.GuildID
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE guild_keys SET retired_at = ? WHERE guild_id = ? AND retired_at IS NULL`,
			now.UnixMilli(), k.GuildID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO guild_keys (`+guildKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
			k.ID, k.GuildID, k.Sealed, k.Last4, k.CreatedBy, k.CreatedAt.UnixMilli())
		if isUnique(err) {
			return duplicate("guild key %s already exists", k.ID)
		}
		if err != nil {
			return err
		}
		return db.logChange(ctx, tx, c)
	})
	if err != nil {
		return wrap(err, "store: set key of guild %s", k.GuildID)
	}
	return nil
}

// ClearGuildKey retires the guild's current key and logs c (c.GuildID "" means guildID), in one
// transaction. It returns false, logging nothing, when the guild had no current key.
func (db *DB) ClearGuildKey(ctx context.Context, guildID string, c Change) (bool, error) {
	if guildID == "" {
		return false, errors.New("store: clear guild key: empty guild id")
	}
	if c.GuildID == "" {
		c.GuildID = guildID
	}
	var cleared bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE guild_keys SET retired_at = ? WHERE guild_id = ? AND retired_at IS NULL`,
			db.now().UnixMilli(), guildID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		cleared = true
		return db.logChange(ctx, tx, c)
	})
	if err != nil {
		return false, fmt.Errorf("store: clear key of guild %s: %w", guildID, err)
	}
	return cleared, nil
}

// CurrentGuildKey returns the guild's current key, or ErrNotFound when it has none.
func (db *DB) CurrentGuildKey(ctx context.Context, guildID string) (*GuildKey, error) {
	k, err := db.oneGuildKey(ctx, `WHERE guild_id = ? AND retired_at IS NULL`, guildID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guild %s has no key", guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: current key of guild %s: %w", guildID, err)
	}
	return k, nil
}

// GuildKeyByID returns the key with that id, current or retired, or ErrNotFound (never set, or purged).
func (db *DB) GuildKeyByID(ctx context.Context, id string) (*GuildKey, error) {
	k, err := db.oneGuildKey(ctx, `WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guild key %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: guild key %s: %w", id, err)
	}
	return k, nil
}

func (db *DB) oneGuildKey(ctx context.Context, where string, args ...any) (*GuildKey, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	return scanGuildKey(db.sql.QueryRowContext(ctx, `SELECT `+guildKeyColumns+` FROM guild_keys `+where, args...))
}

// PurgeRetiredKeys deletes the retired keys that nothing in progress uses any more, and returns how many
// it deleted. A retired key is kept while an unfinished job (closed_at NULL: its polls, cancel and
// download need it), or a scene or a character still being made (submitting, pending or processing:
// following it needs it) has it as key_ref. A finished scene or character of a purged key stays, hidden
// from the guild's renders (which look up their current key's). Only keys retired before retiredBefore
// are deleted: a render that read the old key just before it was replaced may not have inserted its
// job yet.
func (db *DB) PurgeRetiredKeys(ctx context.Context, retiredBefore time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM guild_keys AS k WHERE retired_at IS NOT NULL AND retired_at < ?
			AND NOT EXISTS (SELECT 1 FROM jobs WHERE closed_at IS NULL AND key_ref = k.id)
			AND NOT EXISTS (SELECT 1 FROM scenes WHERE key_ref = k.id AND status IN `+unfinishedStatuses+`)
			AND NOT EXISTS (SELECT 1 FROM characters WHERE key_ref = k.id AND status IN `+unfinishedStatuses+`)`,
			retiredBefore.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge retired guild keys: %w", err)
	}
	return int(n), nil
}
