package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Character is a Viggle character (a preprocessed photo) made by a member.
type Character struct {
	ID           string // Viggle's character id
	OwnerID      string // the user who made it
	GuildID      string // where it was made; "" outside a guild
	Name         string // unique per owner across guilds, case-insensitively; stored without surrounding spaces
	Shared       bool   // shared with GuildID (its members may use it by name)
	Status       Status
	Error        string // why Viggle failed it; "" otherwise
	ThumbnailURL string
	ImageURL     string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const characterColumns = `character_id, owner_id, guild_id, name, shared, status, error, thumbnail_url,
	image_url, created_at, updated_at`

// scanCharacter reads one row selected with characterColumns, then extra (columns after them).
func scanCharacter(s scanner, extra ...any) (*Character, error) {
	var (
		c                Character
		created, updated sql.NullInt64
	)
	dest := append([]any{&c.ID, &c.OwnerID, &c.GuildID, &c.Name, &c.Shared, &c.Status, &c.Error,
		&c.ThumbnailURL, &c.ImageURL, &created, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMillis(created)
	c.UpdatedAt = fromMillis(updated)
	return &c, nil
}

// InsertCharacter adds a character. An empty Status means StatusPending; zero CreatedAt and
// UpdatedAt are set to now; Name is stored without surrounding spaces (all written back to c). It
// returns ErrDuplicate when the id exists, when the owner has a character of that name already
// (in any guild, case-insensitively), or, for a shared one, when its guild shares one of that name.
func (db *DB) InsertCharacter(ctx context.Context, c *Character) error {
	if c.Status == "" {
		c.Status = StatusPending
	}
	c.Name = strings.TrimSpace(c.Name)
	key := nameKey(c.Name)
	var err error
	switch {
	case c.ID == "" || c.OwnerID == "":
		err = errors.New("empty character or owner id")
	case key == "":
		err = errors.New("empty name")
	case !c.Status.Valid():
		err = fmt.Errorf("invalid status %q", c.Status)
	case c.Shared && c.GuildID == "":
		err = errors.New("shared outside a guild")
	}
	if err != nil {
		return fmt.Errorf("store: insert character %s: %w", c.ID, err)
	}
	now := db.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := ownerNameFree(ctx, tx, c.OwnerID, c.Name, key); err != nil {
			return err
		}
		if c.Shared {
			if err := sharedNameFree(ctx, tx, c.GuildID, c.Name, key); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO characters (`+characterColumns+`, name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OwnerID, c.GuildID, c.Name, c.Shared, c.Status, c.Error, c.ThumbnailURL, c.ImageURL,
			c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), key)
		if isUnique(err) {
			return duplicate("character %s already exists", c.ID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: insert character %s", c.ID)
	}
	return nil
}

// ownerNameFree returns ErrDuplicate when the owner has a character with that name key.
func ownerNameFree(ctx context.Context, tx *sql.Tx, ownerID, name, key string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT character_id FROM characters WHERE owner_id = ? AND name_key = ?`,
		ownerID, key).Scan(&other)
	switch {
	case err == nil:
		return duplicate("user %s already has a character named %q (%s)", ownerID, name, other)
	case errors.Is(err, sql.ErrNoRows):
		return nil
	}
	return err
}

// sharedNameFree returns ErrDuplicate when the guild shares a character with that name key.
func sharedNameFree(ctx context.Context, tx *sql.Tx, guildID, name, key string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT character_id FROM characters
		WHERE guild_id = ? AND shared = 1 AND name_key = ?`, guildID, key).Scan(&other)
	switch {
	case err == nil:
		return duplicate("guild %s already shares a character named %q (%s)", guildID, name, other)
	case errors.Is(err, sql.ErrNoRows):
		return nil
	}
	return err
}

// UpdateCharacter writes what following a preprocessing changes: c's Status, Error, ThumbnailURL and
// ImageURL (and updated_at = now), then reads the whole row back into c. It returns ErrNotFound
// for an unknown id.
func (db *DB) UpdateCharacter(ctx context.Context, c *Character) error {
	if !c.Status.Valid() {
		return fmt.Errorf("store: update character %s: invalid status %q", c.ID, c.Status)
	}
	var got *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters
			SET status = ?, error = ?, thumbnail_url = ?, image_url = ?, updated_at = ?
			WHERE character_id = ? RETURNING `+characterColumns,
			c.Status, c.Error, c.ThumbnailURL, c.ImageURL, db.now().UnixMilli(), c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("character %s not found", c.ID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: update character %s", c.ID)
	}
	*c = *got
	return nil
}

// GetCharacter returns the character with that Viggle id, or ErrNotFound.
func (db *DB) GetCharacter(ctx context.Context, id string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters WHERE character_id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("character %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get character %s: %w", id, err)
	}
	return c, nil
}

// CharacterByName returns the owner's character of that name (case-insensitive, in any guild), or
// ErrNotFound.
func (db *DB) CharacterByName(ctx context.Context, ownerID, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE owner_id = ? AND name_key = ?`, ownerID, nameKey(name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user %s has no character named %q", ownerID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: character %q of user %s: %w", name, ownerID, err)
	}
	return c, nil
}

// SharedCharacterByName returns the character of that name (case-insensitive) shared with the
// guild, whoever owns it, or ErrNotFound.
func (db *DB) SharedCharacterByName(ctx context.Context, guildID, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE guild_id = ? AND shared = 1 AND name_key = ?`, guildID, nameKey(name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guild %s shares no character named %q", guildID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: shared character %q of guild %s: %w", name, guildID, err)
	}
	return c, nil
}

// ResolveCharacter returns the character a member means by name in a map (case-insensitive): the
// caller's own character of that name, else the one of that name shared with the guild; else
// ErrNotFound. It reads one statement, so both come from one snapshot. The character may not be
// ready: the caller checks Status.
func (db *DB) ResolveCharacter(ctx context.Context, ownerID, guildID, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+`, 0 AS rank FROM characters
			WHERE owner_id = ?1 AND name_key = ?3
		UNION ALL
		SELECT `+characterColumns+`, 1 AS rank FROM characters
			WHERE guild_id = ?2 AND shared = 1 AND name_key = ?3
		ORDER BY rank LIMIT 1`, ownerID, guildID, nameKey(name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no character named %q for user %s or shared in guild %s", name, ownerID, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: resolve character %q for user %s in guild %s: %w", name, ownerID, guildID, err)
	}
	return c, nil
}

// oneCharacter runs a query for one row of characterColumns, maybe followed by a rank column.
func (db *DB) oneCharacter(ctx context.Context, query string, args ...any) (*Character, error) {
	cs, err := db.queryCharacters(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, sql.ErrNoRows
	}
	return cs[0], nil
}

// ListCharacters returns the owner's characters (made in any guild) by name, then the ones of
// other members shared with the guild, by name.
func (db *DB) ListCharacters(ctx context.Context, ownerID, guildID string) ([]*Character, error) {
	cs, err := db.queryCharacters(ctx, `SELECT `+characterColumns+`, 0 AS rank, name_key AS sort
			FROM characters WHERE owner_id = ?1
		UNION ALL
		SELECT `+characterColumns+`, 1 AS rank, name_key AS sort
			FROM characters WHERE guild_id = ?2 AND shared = 1 AND owner_id <> ?1
		ORDER BY rank, sort, character_id`, ownerID, guildID)
	if err != nil {
		return nil, fmt.Errorf("store: list characters of user %s in guild %s: %w", ownerID, guildID, err)
	}
	return cs, nil
}

// DeleteCharacter forgets the character with that Viggle id, or returns ErrNotFound. Who may
// delete it is the caller's decision.
func (db *DB) DeleteCharacter(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM characters WHERE character_id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = notFound("character %s not found", id)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: delete character %s", id)
	}
	return nil
}

// ShareCharacter shares the owner's character of that name (case-insensitive) with the guild it
// was made in, and returns it as it is afterwards (sharing a shared one changes nothing). It
// returns ErrNotFound when the owner has no such character, ErrDuplicate when that guild already
// shares one of that name, and an error for a character made outside a guild.
func (db *DB) ShareCharacter(ctx context.Context, ownerID, name string) (*Character, error) {
	key := nameKey(name)
	var c *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCharacter(tx.QueryRowContext(ctx, `SELECT `+characterColumns+` FROM characters
			WHERE owner_id = ? AND name_key = ?`, ownerID, key))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("user %s has no character named %q", ownerID, name)
		case err != nil:
			return err
		case c.Shared:
			return nil
		case c.GuildID == "":
			return fmt.Errorf("character %s was made outside a guild", c.ID)
		}
		if err := sharedNameFree(ctx, tx, c.GuildID, c.Name, key); err != nil {
			return err
		}
		c, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters SET shared = 1, updated_at = ?
			WHERE character_id = ? RETURNING `+characterColumns, db.now().UnixMilli(), c.ID))
		return err
	})
	if err != nil {
		return nil, wrap(err, "store: share character %q of user %s", name, ownerID)
	}
	return c, nil
}

// suggestCharactersSQL selects, for each status in suggestOrder, up to ?5 of owner ?1's characters
// whose name key is in [?2, ?3); then, for each status, up to ?5 of those shared with guild ?4 by
// others. Each part is an index range scan read in index order (named, as in suggestScenesSQL);
// rank says which part a row comes from, sort its place there.
var suggestCharactersSQL = func() string {
	var parts []string
	for i, st := range suggestOrder {
		parts = append(parts, `SELECT * FROM (SELECT `+characterColumns+`, `+strconv.Itoa(i)+` AS rank,
			name_key AS sort FROM characters INDEXED BY characters_owner_status_name_idx
			WHERE owner_id = ?1 AND status = '`+string(st)+`' AND name_key >= ?2 AND name_key < ?3
			ORDER BY name_key LIMIT ?5)`)
	}
	for i, st := range suggestOrder {
		parts = append(parts, `SELECT * FROM (SELECT `+characterColumns+`, `+strconv.Itoa(len(suggestOrder)+i)+` AS rank,
			name_key AS sort FROM characters INDEXED BY characters_shared_status_name_idx
			WHERE guild_id = ?4 AND shared = 1 AND status = '`+string(st)+`' AND name_key >= ?2 AND name_key < ?3
				AND owner_id <> ?1
			ORDER BY name_key LIMIT ?5)`)
	}
	return strings.Join(parts, "\nUNION ALL\n")
}()

// SuggestCharacters returns up to limit (at most MaxSuggestions) characters whose name starts with
// prefix, case-insensitively (leading spaces ignored; no character is a wildcard): the owner's own
// (made in any guild), then the ones of other members shared with the guild; within each, ready
// ones first, then processing, pending and failed ones, by name. It reads SQLite only, in one
// statement.
func (db *DB) SuggestCharacters(ctx context.Context, ownerID, guildID, prefix string, limit int) ([]*Character, error) {
	limit = suggestLimit(limit)
	lo, hi := keyRange(prefixKey(prefix))
	type row struct {
		c    *Character
		rank int
		sort string
	}
	var rows []row
	err := db.queryRows(ctx, func(s scanner) error {
		var r row
		var err error
		r.c, err = scanCharacter(s, &r.rank, &r.sort)
		rows = append(rows, r)
		return err
	}, suggestCharactersSQL, ownerID, lo, hi, guildID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: suggest characters for user %s in guild %s: %w", ownerID, guildID, err)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.sort, b.sort), strings.Compare(a.c.ID, b.c.ID))
	})
	out := make([]*Character, 0, min(len(rows), limit))
	for _, r := range rows[:min(len(rows), limit)] {
		out = append(out, r.c)
	}
	return out, nil
}

// queryCharacters runs a SELECT of characterColumns, maybe followed by rank and sort columns
// (ignored), and scans every row.
func (db *DB) queryCharacters(ctx context.Context, query string, args ...any) ([]*Character, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ignored, err := ignoredColumns(rows, characterColumns)
	if err != nil {
		return nil, err
	}
	var cs []*Character
	for rows.Next() {
		c, err := scanCharacter(rows, ignored...)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return cs, nil
}
