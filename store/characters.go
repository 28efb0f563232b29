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
	ID           string // the bot's id, made before the create is sent (NewID)
	OwnerID      string // the user who made it
	GuildID      string // where it was made; "" outside a guild
	KeyRef       string // the Viggle key it was made with: "" for the bot's shared key
	ViggleID     string // Viggle's character id; "" until Viggle answered the create
	Name         string // unique per owner across guilds, case-insensitively; stored without surrounding spaces
	Shared       bool   // shared with GuildID (its members may use it by name, with the same key)
	Status       Status
	Error        string // why Viggle failed it; "" otherwise
	ThumbnailURL string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Review is the approval state, apart from Status: "" (needs none, or approved), ReviewPending or
	// ReviewRejected. Only characters with an empty Review are offered for renders.
	Review     string
	ReviewedBy string    // who approved or rejected it; "" until then
	ReviewedAt time.Time // when; zero until then
}

// Review states of a character (Character.Review); "" needs no review or was approved.
const (
	ReviewPending  = "pending"  // held until a member with Manage Guild approves it (the guild's approval is on)
	ReviewRejected = "rejected" // refused by a moderator: never usable
)

const characterColumns = `id, owner_id, guild_id, key_ref, viggle_id, name, shared, status, error, thumbnail_url,
	created_at, updated_at, review, reviewed_by, reviewed_at`

// scanCharacter reads one row selected with characterColumns, then extra (columns after them).
func scanCharacter(s scanner, extra ...any) (*Character, error) {
	var (
		c                          Character
		viggleID                   sql.NullString
		created, updated, reviewed sql.NullInt64
	)
	dest := append([]any{&c.ID, &c.OwnerID, &c.GuildID, &c.KeyRef, &viggleID, &c.Name, &c.Shared, &c.Status,
		&c.Error, &c.ThumbnailURL, &created, &updated, &c.Review, &c.ReviewedBy, &reviewed}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	c.ViggleID = viggleID.String
	c.CreatedAt = fromMillis(created)
	c.UpdatedAt = fromMillis(updated)
	c.ReviewedAt = fromMillis(reviewed)
	return &c, nil
}

// InsertCharacter records a character before its create is sent: c has no ViggleID yet and its
// Status is StatusSubmitting (the default). An empty ID is set to NewID(); zero CreatedAt and
// UpdatedAt are set to now; Name is stored without surrounding spaces (all written back to c). The
// row reserves the name until it is deleted or replaced (ReplaceCharacter), whatever becomes of
// it. c.Review is "" or ReviewPending (held until approved: ReviewCharacter). It returns ErrDuplicate
// when the id exists, when the owner has a character of that name already (in any guild, in any status
// or review, case-insensitively), or, for a shared one, when its guild shares one of that name.
func (db *DB) InsertCharacter(ctx context.Context, c *Character) error {
	if err := db.prepareCharacter(c); err != nil {
		return fmt.Errorf("store: insert character %s: %w", c.ID, err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := ownerNameFree(ctx, tx, c.OwnerID, c.Name); err != nil {
			return err
		}
		return insertCharacter(ctx, tx, c)
	})
	if err != nil {
		return wrap(err, "store: insert character %s", c.ID)
	}
	return nil
}

// ReplaceCharacter is InsertCharacter that, in the same transaction, first deletes the owner's
// character of that name when its status is Replaceable (failed, or of unknown outcome: the caller
// has told the member that the old one may exist at Viggle), and returns the row it deleted (nil
// when the name was free). A character of that name in any other status is ErrDuplicate, and then
// nothing changes.
func (db *DB) ReplaceCharacter(ctx context.Context, c *Character) (*Character, error) {
	if err := db.prepareCharacter(c); err != nil {
		return nil, fmt.Errorf("store: replace character %s: %w", c.ID, err)
	}
	var old *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		held, err := ownerNameFree(ctx, tx, c.OwnerID, c.Name)
		switch {
		case held != nil && held.Status.Replaceable():
			if _, err := tx.ExecContext(ctx, `DELETE FROM characters WHERE id = ?`, held.ID); err != nil {
				return err
			}
			old = held
		case err != nil:
			return err
		}
		return insertCharacter(ctx, tx, c)
	})
	if err != nil {
		return nil, wrap(err, "store: replace character %s", c.ID)
	}
	return old, nil
}

// prepareCharacter fills in c's defaults for an insert and validates it.
func (db *DB) prepareCharacter(c *Character) error {
	if c.Status == "" {
		c.Status = StatusSubmitting
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.OwnerID == "":
		return errors.New("empty owner id")
	case nameKey(c.Name) == "":
		return errors.New("empty name")
	case c.ViggleID != "":
		return errors.New("a Viggle id before the create was sent (record it with UpdateCharacter)")
	case c.Status != StatusSubmitting:
		return fmt.Errorf("status %q, want %s", c.Status, StatusSubmitting)
	case c.Shared && c.GuildID == "":
		return errors.New("shared outside a guild")
	case c.Review != "" && c.Review != ReviewPending:
		return fmt.Errorf("review %q, want none or %s", c.Review, ReviewPending)
	case c.Review == ReviewPending && c.GuildID == "":
		return errors.New("held for review outside a guild")
	case c.ReviewedBy != "" || !c.ReviewedAt.IsZero():
		return errors.New("reviewed before it was made")
	}
	now := db.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	return nil
}

// insertCharacter inserts a prepared c whose owner's name is free.
func insertCharacter(ctx context.Context, tx *sql.Tx, c *Character) error {
	key := nameKey(c.Name)
	if c.Shared {
		if err := sharedNameFree(ctx, tx, c.GuildID, c.Name, key); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO characters (`+characterColumns+`, name_key)
		VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, ?)`,
		c.ID, c.OwnerID, c.GuildID, c.KeyRef, c.Name, c.Shared, c.Status, c.Error, c.ThumbnailURL,
		c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), c.Review, key)
	if isUnique(err) {
		return duplicate("character %s already exists", c.ID)
	}
	return err
}

// ownerNameFree returns ErrDuplicate, with the row holding the name, when the owner has a
// character of that name.
func ownerNameFree(ctx context.Context, tx *sql.Tx, ownerID, name string) (*Character, error) {
	held, err := scanCharacter(tx.QueryRowContext(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE owner_id = ? AND name_key = ?`, ownerID, nameKey(name)))
	switch {
	case err == nil:
		return held, duplicate("user %s already has a character named %q (%s, %s)", ownerID, name, held.ID, held.Status)
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	}
	return nil, err
}

// sharedNameFree returns ErrDuplicate when the guild shares a character with that name key.
func sharedNameFree(ctx context.Context, tx *sql.Tx, guildID, name, key string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT id FROM characters
		WHERE guild_id = ? AND shared = 1 AND name_key = ?`, guildID, key).Scan(&other)
	switch {
	case err == nil:
		return duplicate("guild %s already shares a character named %q (%s)", guildID, name, other)
	case errors.Is(err, sql.ErrNoRows):
		return nil
	}
	return err
}

// UpdateCharacter records Viggle's answer about the character with c.ID, in one transaction: c's
// ViggleID (recorded once: "" keeps the one recorded, another one than recorded is ErrConflict),
// Status, Error and ThumbnailURL (and updated_at = now); then it reads the whole row back into c.
// A status Viggle reports (pending, processing, ready) needs a Viggle id. It returns ErrNotFound
// for an unknown id and ErrDuplicate when another row has that Viggle id.
func (db *DB) UpdateCharacter(ctx context.Context, c *Character) error {
	var got *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		var recorded sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT viggle_id FROM characters WHERE id = ?`, c.ID).Scan(&recorded)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("character %s not found", c.ID)
		case err != nil:
			return err
		}
		viggleID, err := recordOnce(recorded.String, c.ViggleID)
		if err != nil {
			return err
		}
		if err := checkAnswer(c.Status, viggleID); err != nil {
			return err
		}
		got, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters
			SET viggle_id = ?, status = ?, error = ?, thumbnail_url = ?, updated_at = ?
			WHERE id = ? RETURNING `+characterColumns,
			nullable(viggleID), c.Status, c.Error, c.ThumbnailURL, db.now().UnixMilli(), c.ID))
		if isUnique(err) {
			return duplicate("Viggle character %s is already recorded (%s)", viggleID, c.ID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: update character %s", c.ID)
	}
	*c = *got
	return nil
}

// GetCharacter returns the character with that bot id, or ErrNotFound.
func (db *DB) GetCharacter(ctx context.Context, id string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("character %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get character %s: %w", id, err)
	}
	return c, nil
}

// CharacterByViggleID returns the character with that Viggle id (case-sensitive), or ErrNotFound.
func (db *DB) CharacterByViggleID(ctx context.Context, viggleID string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters WHERE viggle_id = ?`, viggleID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Viggle character %s not found", viggleID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: character of Viggle id %s: %w", viggleID, err)
	}
	return c, nil
}

// CharacterByName returns the owner's usable character of that name (case-insensitive, made in any
// guild) made with the Viggle key keyRef, or ErrNotFound (also when the owner's character of that
// name was made with another key, or is pending review or rejected).
func (db *DB) CharacterByName(ctx context.Context, ownerID, keyRef, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE owner_id = ? AND name_key = ? AND key_ref = ? AND review = ''`, ownerID, nameKey(name), keyRef)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user %s has no character named %q made with this key", ownerID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: character %q of user %s: %w", name, ownerID, err)
	}
	return c, nil
}

// SharedCharacterByName returns the usable character of that name (case-insensitive) shared with the
// guild and made with the Viggle key keyRef, whoever owns it, or ErrNotFound (also when it is pending
// review or rejected).
func (db *DB) SharedCharacterByName(ctx context.Context, guildID, keyRef, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE guild_id = ? AND shared = 1 AND name_key = ? AND key_ref = ? AND review = ''`, guildID, nameKey(name), keyRef)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guild %s shares no character named %q made with this key", guildID, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: shared character %q of guild %s: %w", name, guildID, err)
	}
	return c, nil
}

// ResolveCharacter returns the character a member means by name in a map (case-insensitive),
// among those made with keyRef, the Viggle key the guild's renders use (a character made under
// another key does not exist for it): the caller's own character of that name (made in any guild),
// else the one of that name shared with the guild; else ErrNotFound. Only usable characters count (an
// empty Review: one pending review or rejected is not found, and does not hide a shared one of its
// name). It reads one statement, so both come from one snapshot. The character may not be ready: the
// caller checks Status.
func (db *DB) ResolveCharacter(ctx context.Context, ownerID, guildID, keyRef, name string) (*Character, error) {
	c, err := db.oneCharacter(ctx, `SELECT `+characterColumns+`, 0 AS rank FROM characters
			WHERE owner_id = ?1 AND name_key = ?3 AND key_ref = ?4 AND review = ''
		UNION ALL
		SELECT `+characterColumns+`, 1 AS rank FROM characters
			WHERE guild_id = ?2 AND shared = 1 AND name_key = ?3 AND key_ref = ?4 AND review = ''
		ORDER BY rank LIMIT 1`, ownerID, guildID, nameKey(name), keyRef)
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

// ListCharacters returns the owner's characters (made in any guild, with any key, in any status and
// review) by name, then the ones of other members shared with the guild, by name (those pending review
// or rejected included: Review says). KeyRef says which key each was made with.
func (db *DB) ListCharacters(ctx context.Context, ownerID, guildID string) ([]*Character, error) {
	cs, err := db.queryCharacters(ctx, `SELECT `+characterColumns+`, 0 AS rank, name_key AS sort
			FROM characters WHERE owner_id = ?1
		UNION ALL
		SELECT `+characterColumns+`, 1 AS rank, name_key AS sort
			FROM characters WHERE guild_id = ?2 AND shared = 1 AND owner_id <> ?1
		ORDER BY rank, sort, id`, ownerID, guildID)
	if err != nil {
		return nil, fmt.Errorf("store: list characters of user %s in guild %s: %w", ownerID, guildID, err)
	}
	return cs, nil
}

// DeleteCharacter forgets the character with that bot id (freeing its name), or returns
// ErrNotFound. Who may delete it is the caller's decision.
func (db *DB) DeleteCharacter(ctx context.Context, id string) error {
	return db.deleteByID(ctx, "characters", "character", id)
}

// ShareCharacter shares the owner's character of that name (case-insensitive) with guildID, the
// guild the command ran in, and returns it as it is afterwards (sharing a shared one changes
// nothing). A character is shared only with the guild it was made in: one made elsewhere (or
// outside a guild) is an *OtherGuildError. It returns ErrNotFound when the owner has no such
// character and ErrDuplicate when the guild already shares one of that name.
func (db *DB) ShareCharacter(ctx context.Context, ownerID, guildID, name string) (*Character, error) {
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
		case c.GuildID != guildID || guildID == "":
			return &OtherGuildError{CharacterID: c.ID, Name: c.Name, MadeIn: c.GuildID, Guild: guildID}
		case c.Shared:
			return nil
		}
		if err := sharedNameFree(ctx, tx, c.GuildID, c.Name, key); err != nil {
			return err
		}
		c, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters SET shared = 1, updated_at = ?
			WHERE id = ? RETURNING `+characterColumns, db.now().UnixMilli(), c.ID))
		return err
	})
	var og *OtherGuildError
	if errors.As(err, &og) {
		return nil, og
	}
	if err != nil {
		return nil, wrap(err, "store: share character %q of user %s", name, ownerID)
	}
	return c, nil
}

// suggestCharactersSQL selects, for each status in suggestOrder, up to ?5 of owner ?1's characters
// made with key ?6 whose name key is in [?2, ?3); then, for each status, up to ?5 of those shared
// with guild ?4 by others, made with key ?6; only usable ones (an empty review: the condition of both
// partial indexes). Each part is an index range scan read in index order (named, as in
// suggestScenesSQL); rank says which part a row comes from, sort its place there.
var suggestCharactersSQL = func() string {
	var parts []string
	for i, st := range suggestOrder {
		parts = append(parts, `SELECT * FROM (SELECT `+characterColumns+`, `+strconv.Itoa(i)+` AS rank,
			name_key AS sort FROM characters INDEXED BY characters_owner_key_status_name_idx
			WHERE owner_id = ?1 AND key_ref = ?6 AND review = '' AND status = '`+string(st)+`' AND name_key >= ?2 AND name_key < ?3
			ORDER BY name_key LIMIT ?5) AS own`+strconv.Itoa(i))
	}
	for i, st := range suggestOrder {
		parts = append(parts, `SELECT * FROM (SELECT `+characterColumns+`, `+strconv.Itoa(len(suggestOrder)+i)+` AS rank,
			name_key AS sort FROM characters INDEXED BY characters_shared_key_status_name_idx
			WHERE guild_id = ?4 AND shared = 1 AND review = '' AND key_ref = ?6 AND status = '`+string(st)+`'
				AND name_key >= ?2 AND name_key < ?3 AND owner_id <> ?1
			ORDER BY name_key LIMIT ?5) AS shared`+strconv.Itoa(i))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}()

// SuggestCharacters returns up to limit (at most MaxSuggestions) usable characters (an empty Review)
// made with keyRef (the Viggle key the guild's renders use) whose name starts with prefix, case-insensitively (leading
// spaces ignored; no character is a wildcard): the owner's own (made in any guild), then the ones
// of other members shared with the guild; within each, ready ones first, then processing, pending
// and failed ones (never one still submitting or of unknown outcome), by name. It reads SQLite
// only, in one statement.
func (db *DB) SuggestCharacters(ctx context.Context, ownerID, guildID, keyRef, prefix string, limit int) ([]*Character, error) {
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
	}, suggestCharactersSQL, ownerID, lo, hi, guildID, limit, keyRef)
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
	return queryRows(ctx, db, characterColumns, scanCharacter, query, args...)
}

// Default and maximum limits of PendingCharacters.
const (
	DefaultPendingCharacters = 25
	MaxPendingCharacters     = 100
)

// PendingCharacters returns up to limit (≤ 0: DefaultPendingCharacters; at most MaxPendingCharacters) of
// the guild's characters waiting for review, oldest first, whatever their Status except failed (Viggle
// refused it: there is nothing to approve; its owner sees it in ListCharacters).
func (db *DB) PendingCharacters(ctx context.Context, guildID string, limit int) ([]*Character, error) {
	if limit <= 0 {
		limit = DefaultPendingCharacters
	}
	limit = min(limit, MaxPendingCharacters)
	cs, err := db.queryCharacters(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE guild_id = ? AND review = 'pending' AND status <> ? ORDER BY created_at, id LIMIT ?`,
		guildID, StatusFailed, limit)
	if err != nil {
		return nil, fmt.Errorf("store: characters of guild %s pending review: %w", guildID, err)
	}
	return cs, nil
}

// ReviewCharacter records a moderator's decision on a character pending review and logs c (c.GuildID
// "" means the character's guild), in one transaction: approve makes it usable (Review ""), else it is
// ReviewRejected; ReviewedBy and ReviewedAt record who and when. It returns the character as it is
// afterwards, ErrNotFound for an unknown id and ErrConflict when it is not pending (decided already, or
// never held), with nothing written.
func (db *DB) ReviewCharacter(ctx context.Context, id, reviewerID string, approve bool, c Change) (*Character, error) {
	if reviewerID == "" {
		return nil, fmt.Errorf("store: review character %s: empty reviewer id", id)
	}
	review := ReviewRejected
	if approve {
		review = ""
	}
	var got *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		now := db.now().UnixMilli()
		var err error
		got, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters
			SET review = ?, reviewed_by = ?, reviewed_at = ?, updated_at = ?
			WHERE id = ? AND review = 'pending' RETURNING `+characterColumns,
			review, reviewerID, now, now, id))
		if errors.Is(err, sql.ErrNoRows) {
			var was string
			err := tx.QueryRowContext(ctx, `SELECT review FROM characters WHERE id = ?`, id).Scan(&was)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return notFound("character %s not found", id)
			case err != nil:
				return err
			case was == "":
				was = "none"
			}
			return fmt.Errorf("not pending review (review %s): %w", was, ErrConflict)
		}
		if err != nil {
			return err
		}
		if c.GuildID == "" {
			c.GuildID = got.GuildID
		}
		return db.logChange(ctx, tx, c)
	})
	if err != nil {
		return nil, wrap(err, "store: review character %s", id)
	}
	return got, nil
}

// DeleteCharacterLogged forgets the character with that bot id (freeing its name) and logs c (c.GuildID
// "" means the character's guild), in one transaction: a moderator's deletion. It returns ErrNotFound
// for an unknown id, with nothing logged. Who may delete it is the caller's decision.
func (db *DB) DeleteCharacterLogged(ctx context.Context, id string, c Change) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		var guildID string
		err := tx.QueryRowContext(ctx, `DELETE FROM characters WHERE id = ? RETURNING guild_id`, id).Scan(&guildID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("character %s not found", id)
		}
		if err != nil {
			return err
		}
		if c.GuildID == "" {
			c.GuildID = guildID
		}
		return db.logChange(ctx, tx, c)
	})
	if err != nil {
		return wrap(err, "store: delete character %s", id)
	}
	return nil
}

// CharacterDeleted reports whether a character with that Viggle id was deleted here (the trigger of
// migration 00007 records every deletion): its id must not be rendered with any more.
func (db *DB) CharacterDeleted(ctx context.Context, viggleID string) (bool, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return false, fmt.Errorf("store: CharacterDeleted: %w", err)
	}
	defer db.gate.unlock()
	var one int
	err := db.sql.QueryRowContext(ctx, `SELECT 1 FROM deleted_characters WHERE viggle_id = ?`, viggleID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: is character %s deleted: %w", viggleID, err)
	}
	return true, nil
}
