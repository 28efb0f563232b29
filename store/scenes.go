package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scene is a Viggle scene imported into a guild (one row per guild and import).
type Scene struct {
	ID         string // the bot's id, made before the import is sent (NewID)
	GuildID    string
	KeyRef     string // the Viggle key it was imported with: "" for the bot's shared key
	ViggleID   string // Viggle's scene id; "" until Viggle answered the import
	Name       string // unique in the guild, case-insensitively; stored without surrounding spaces
	TemplateID string // the template it was imported from
	Status     Status
	Error      string        // why Viggle failed it; "" otherwise
	Duration   time.Duration // of the video it makes; 0 when unknown
	Persons    []Person      // its person segments, in Viggle's order
	ImportedBy string        // user id
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Person is one person segment of a scene: what a map's left side names.
type Person struct {
	UUID string `json:"uuid"`
	Type string `json:"type"`
}

const sceneColumns = `id, guild_id, key_ref, viggle_id, name, template_id, status, error, duration_ms, persons,
	imported_by, created_at, updated_at`

// scanScene reads one row selected with sceneColumns, then extra (columns after them).
func scanScene(s scanner, extra ...any) (*Scene, error) {
	sc, persons, err := scanSceneRaw(s, extra...)
	if err != nil {
		return nil, err
	}
	if err := sc.decodePersons(persons); err != nil {
		return nil, err
	}
	return sc, nil
}

// scanSceneRaw is scanScene leaving the persons column undecoded.
func scanSceneRaw(s scanner, extra ...any) (*Scene, string, error) {
	var (
		sc               Scene
		viggleID         sql.NullString
		duration         sql.NullInt64
		persons          string
		created, updated sql.NullInt64
	)
	dest := append([]any{&sc.ID, &sc.GuildID, &sc.KeyRef, &viggleID, &sc.Name, &sc.TemplateID, &sc.Status,
		&sc.Error, &duration, &persons, &sc.ImportedBy, &created, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, "", err
	}
	sc.ViggleID = viggleID.String
	if duration.Valid {
		sc.Duration = time.Duration(duration.Int64) * time.Millisecond
	}
	sc.CreatedAt = fromMillis(created)
	sc.UpdatedAt = fromMillis(updated)
	return &sc, persons, nil
}

func (sc *Scene) decodePersons(persons string) error {
	if err := json.Unmarshal([]byte(persons), &sc.Persons); err != nil {
		return fmt.Errorf("scene %s: decode persons: %w", sc.ID, err)
	}
	if len(sc.Persons) == 0 {
		sc.Persons = nil
	}
	return nil
}

// durationMillis converts a scene duration for duration_ms: NULL when unknown (0), at least 1 ms.
func durationMillis(d time.Duration) (any, error) {
	switch {
	case d < 0:
		return nil, fmt.Errorf("negative duration %s", d)
	case d == 0:
		return nil, nil
	}
	return max(d.Milliseconds(), 1), nil
}

func encodePersons(persons []Person) (string, error) {
	for i, p := range persons {
		if p.UUID == "" {
			return "", fmt.Errorf("person %d has no uuid", i+1)
		}
	}
	if len(persons) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(persons)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// nullable returns NULL for "", else s.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkAnswer validates a status recorded with a Viggle answer: a known one, and one that Viggle
// reports (pending, processing, ready) only with a Viggle id.
func checkAnswer(st Status, viggleID string) error {
	switch {
	case !st.Valid():
		return fmt.Errorf("invalid status %q", st)
	case viggleID == "" && st != StatusSubmitting && st != StatusUnknown && st != StatusFailed:
		return fmt.Errorf("status %s without a Viggle id", st)
	}
	return nil
}

// InsertScene records an import before it is sent: s has no ViggleID yet and its Status is
// StatusSubmitting (the default). An empty ID is set to NewID(); zero CreatedAt and UpdatedAt are
// set to now; Name is stored without surrounding spaces (all written back to s). The row reserves
// the name in the guild until it is deleted, whatever becomes of it. It returns ErrDuplicate when
// the id exists or the guild has a scene of that name.
func (db *DB) InsertScene(ctx context.Context, s *Scene) error {
	if s.Status == "" {
		s.Status = StatusSubmitting
	}
	if s.ID == "" {
		s.ID = NewID()
	}
	s.Name = strings.TrimSpace(s.Name)
	key := nameKey(s.Name)
	var err error
	switch {
	case s.GuildID == "":
		err = errors.New("empty guild id")
	case key == "":
		err = errors.New("empty name")
	case s.ViggleID != "":
		err = errors.New("a Viggle id before the import was sent (record it with UpdateScene)")
	case s.Status != StatusSubmitting:
		err = fmt.Errorf("status %q, want %s", s.Status, StatusSubmitting)
	}
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.ID, err)
	}
	persons, err := encodePersons(s.Persons)
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.ID, err)
	}
	duration, err := durationMillis(s.Duration)
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.ID, err)
	}
	now := db.now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = now
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM scenes WHERE guild_id = ? AND name_key = ?`,
			s.GuildID, key).Scan(&other)
		switch {
		case err == nil:
			return duplicate("guild %s already has a scene named %q (%s)", s.GuildID, s.Name, other)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scenes (`+sceneColumns+`, name_key)
			VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.GuildID, s.KeyRef, s.Name, s.TemplateID, s.Status, s.Error, duration, persons,
			s.ImportedBy, s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli(), key)
		if isUnique(err) {
			return duplicate("scene %s already exists", s.ID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: insert scene %s in guild %s", s.ID, s.GuildID)
	}
	return nil
}

// UpdateScene records Viggle's answer about the scene with s.ID, in one transaction: s's ViggleID
// (recorded once: "" keeps the one recorded, another one than recorded is ErrConflict), Status,
// Error, Duration and Persons (and updated_at = now); then it reads the whole row back into s. A
// status Viggle reports (pending, processing, ready) needs a Viggle id. It returns ErrNotFound for
// an unknown id and ErrDuplicate when the guild has that Viggle scene under another row.
func (db *DB) UpdateScene(ctx context.Context, s *Scene) error {
	persons, err := encodePersons(s.Persons)
	if err != nil {
		return fmt.Errorf("store: update scene %s: %w", s.ID, err)
	}
	duration, err := durationMillis(s.Duration)
	if err != nil {
		return fmt.Errorf("store: update scene %s: %w", s.ID, err)
	}
	var got *Scene
	err = db.write(ctx, func(tx *sql.Tx) error {
		var recorded sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT viggle_id FROM scenes WHERE id = ?`, s.ID).Scan(&recorded)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("scene %s not found", s.ID)
		case err != nil:
			return err
		}
		viggleID, err := recordOnce(recorded.String, s.ViggleID)
		if err != nil {
			return err
		}
		if err := checkAnswer(s.Status, viggleID); err != nil {
			return err
		}
		got, err = scanScene(tx.QueryRowContext(ctx, `UPDATE scenes
			SET viggle_id = ?, status = ?, error = ?, duration_ms = ?, persons = ?, updated_at = ?
			WHERE id = ? RETURNING `+sceneColumns,
			nullable(viggleID), s.Status, s.Error, duration, persons, db.now().UnixMilli(), s.ID))
		if isUnique(err) {
			return duplicate("scene %s is already in this guild (%s)", viggleID, s.ID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: update scene %s", s.ID)
	}
	*s = *got
	return nil
}

// recordOnce returns the Viggle id to record given the one recorded and the one answered: an id is
// recorded once and never changes.
func recordOnce(recorded, answered string) (string, error) {
	switch {
	case answered == "" || answered == recorded:
		return recorded, nil
	case recorded == "":
		return answered, nil
	}
	return "", fmt.Errorf("recorded Viggle id %s, answer names %s: %w", recorded, answered, ErrConflict)
}

// GetScene returns the scene with that bot id, or ErrNotFound.
func (db *DB) GetScene(ctx context.Context, id string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("scene %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get scene %s: %w", id, err)
	}
	return s, nil
}

// SceneByViggleID returns the guild's scene with that Viggle id (case-sensitive), made with any key, or
// ErrNotFound. Renders look scenes up with SceneByViggleIDForKey.
func (db *DB) SceneByViggleID(ctx context.Context, guildID, viggleID string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE guild_id = ? AND viggle_id = ?`, guildID, viggleID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("scene %s not found in guild %s", viggleID, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: scene %s in guild %s: %w", viggleID, guildID, err)
	}
	return s, nil
}

// SceneByViggleIDForKey returns the guild's scene with that Viggle id (case-sensitive) imported with the
// Viggle key keyRef (the key the guild's renders use: a scene of another key does not exist for it), or
// ErrNotFound.
func (db *DB) SceneByViggleIDForKey(ctx context.Context, guildID, keyRef, viggleID string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE guild_id = ? AND viggle_id = ? AND key_ref = ?`, guildID, viggleID, keyRef)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("scene %s not found in guild %s for this key", viggleID, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: scene %s in guild %s: %w", viggleID, guildID, err)
	}
	return s, nil
}

// SceneByName returns the guild's scene of that name (case-insensitive), made with any key, or
// ErrNotFound: what holds the name (names are unique in a guild whatever the key), for /scene remove.
// Renders look scenes up with SceneByNameForKey.
func (db *DB) SceneByName(ctx context.Context, guildID, name string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE guild_id = ? AND name_key = ?`, guildID, nameKey(name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no scene named %q in guild %s", name, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: scene %q in guild %s: %w", name, guildID, err)
	}
	return s, nil
}

// SceneByNameForKey returns the guild's scene of that name (case-insensitive) imported with the Viggle
// key keyRef, or ErrNotFound (also when the guild's scene of that name was imported with another key:
// it still holds the name, see SceneByName).
func (db *DB) SceneByNameForKey(ctx context.Context, guildID, keyRef, name string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE guild_id = ? AND name_key = ? AND key_ref = ?`, guildID, nameKey(name), keyRef)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no scene named %q in guild %s for this key", name, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: scene %q in guild %s: %w", name, guildID, err)
	}
	return s, nil
}

func (db *DB) oneScene(ctx context.Context, where string, args ...any) (*Scene, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	return scanScene(db.sql.QueryRowContext(ctx, `SELECT `+sceneColumns+` FROM scenes `+where, args...))
}

// ListScenes returns the guild's scenes (of every status, made with any key: KeyRef says which) by name
// (case-insensitive).
func (db *DB) ListScenes(ctx context.Context, guildID string) ([]*Scene, error) {
	scenes, err := db.queryScenes(ctx, `SELECT `+sceneColumns+` FROM scenes WHERE guild_id = ?
		ORDER BY name_key, id`, guildID)
	if err != nil {
		return nil, fmt.Errorf("store: list scenes of guild %s: %w", guildID, err)
	}
	return scenes, nil
}

// ListScenesForKey returns the guild's scenes (of every status) imported with the Viggle key keyRef, by
// name (case-insensitive).
func (db *DB) ListScenesForKey(ctx context.Context, guildID, keyRef string) ([]*Scene, error) {
	scenes, err := db.queryScenes(ctx, `SELECT `+sceneColumns+` FROM scenes WHERE guild_id = ? AND key_ref = ?
		ORDER BY name_key, id`, guildID, keyRef)
	if err != nil {
		return nil, fmt.Errorf("store: list scenes of guild %s: %w", guildID, err)
	}
	return scenes, nil
}

// DeleteScene forgets the scene with that bot id (other guilds keep theirs), or returns ErrNotFound.
func (db *DB) DeleteScene(ctx context.Context, id string) error {
	return db.deleteByID(ctx, "scenes", "scene", id)
}

// deleteByID deletes the row of table (a constant of this package, never input) with that bot id, or
// returns ErrNotFound naming it as what.
func (db *DB) deleteByID(ctx context.Context, table, what, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = notFound("%s %s not found", what, id)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: delete %s %s", what, id)
	}
	return nil
}

// suggestScenesSQL selects, for each status in suggestOrder, up to ?6 scenes of guild ?1 imported with key
// ?7 whose name key is in [?2, ?3) and up to ?6 whose lower(id) is in [?4, ?5). Each part is an index range scan
// read in index order (named: the planner would rather take the unique index on the name and
// filter the status, reading every match), so it reads no more rows than it returns and sorts
// nothing; rank says which part a row comes from (a status's name matches, then its id matches),
// sort its place there. SuggestScenes orders the at most 8×?6 rows.
var suggestScenesSQL = func() string {
	var parts []string
	for i, st := range suggestOrder {
		parts = append(parts,
			`SELECT * FROM (SELECT `+sceneColumns+`, `+strconv.Itoa(2*i)+` AS rank, name_key AS sort
				FROM scenes INDEXED BY scenes_guild_key_status_name_idx
				WHERE guild_id = ?1 AND key_ref = ?7 AND status = '`+string(st)+`' AND name_key >= ?2 AND name_key < ?3
				ORDER BY name_key LIMIT ?6) AS by_name`+strconv.Itoa(i),
			`SELECT * FROM (SELECT `+sceneColumns+`, `+strconv.Itoa(2*i+1)+` AS rank, lower(viggle_id) AS sort
				FROM scenes INDEXED BY scenes_guild_key_status_id_idx
				WHERE guild_id = ?1 AND key_ref = ?7 AND status = '`+string(st)+`' AND viggle_id IS NOT NULL
					AND lower(viggle_id) >= ?4 AND lower(viggle_id) < ?5
				ORDER BY lower(viggle_id) LIMIT ?6) AS by_id`+strconv.Itoa(i))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}()

// SuggestScenes is SuggestScenesForKey for the bot's shared key (keyRef ""), as before guilds had keys.
//
// Deprecated: use SuggestScenesForKey with the guild's key.
func (db *DB) SuggestScenes(ctx context.Context, guildID, prefix string, limit int) ([]*Scene, error) {
	return db.SuggestScenesForKey(ctx, guildID, "", prefix, limit)
}

// SuggestScenesForKey returns up to limit (at most MaxSuggestions) of the guild's scenes imported with
// the Viggle key keyRef (the key the guild's renders use) whose name or Viggle id starts with prefix, case-insensitively (leading spaces ignored; no character is a
// wildcard): ready ones first, then processing, pending and failed ones (never one still
// submitting or of unknown outcome); within a status those matched by name (by name) before those
// matched by id only (by id). It reads SQLite only, in one statement.
func (db *DB) SuggestScenesForKey(ctx context.Context, guildID, keyRef, prefix string, limit int) ([]*Scene, error) {
	limit = suggestLimit(limit)
	nameLo, nameHi := keyRange(prefixKey(prefix))
	idLo, idHi := keyRange(asciiLower(strings.TrimLeft(prefix, " \t")))
	type row struct {
		s       *Scene
		persons string
		rank    int
		sort    string
	}
	var rows []row
	err := db.queryRows(ctx, func(s scanner) error {
		var r row
		var err error
		r.s, r.persons, err = scanSceneRaw(s, &r.rank, &r.sort)
		rows = append(rows, r)
		return err
	}, suggestScenesSQL, guildID, nameLo, nameHi, idLo, idHi, limit, keyRef)
	if err != nil {
		return nil, fmt.Errorf("store: suggest scenes of guild %s: %w", guildID, err)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.sort, b.sort),
			strings.Compare(a.s.ID, b.s.ID))
	})
	// A scene matched by both name and id comes twice: keep its first place.
	seen := make(map[string]bool, len(rows))
	var out []*Scene
	for _, r := range rows {
		if len(out) == limit {
			break
		}
		if !seen[r.s.ID] {
			seen[r.s.ID] = true
			if err := r.s.decodePersons(r.persons); err != nil {
				return nil, fmt.Errorf("store: suggest scenes of guild %s: %w", guildID, err)
			}
			out = append(out, r.s)
		}
	}
	return out, nil
}

// queryRows runs a query at low priority and calls scan for each row.
func (db *DB) queryRows(ctx context.Context, scan func(scanner) error, query string, args ...any) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return err
	}
	defer db.gate.unlock()
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryScenes runs a SELECT of sceneColumns, maybe followed by rank and sort columns (ignored), and
// scans every row.
func (db *DB) queryScenes(ctx context.Context, query string, args ...any) ([]*Scene, error) {
	return queryRows(ctx, db, sceneColumns, scanScene, query, args...)
}

// queryRows runs a read of columns (maybe followed by columns it ignores) at the gate's read priority
// and scans every row with scan.
func queryRows[T any](ctx context.Context, db *DB, columns string, scan func(scanner, ...any) (*T, error), query string, args ...any) ([]*T, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ignored, err := ignoredColumns(rows, columns)
	if err != nil {
		return nil, err
	}
	var out []*T
	for rows.Next() {
		v, err := scan(rows, ignored...)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// write runs fn in one transaction, after the engine's waiting work (low priority at the gate).
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return err
	}
	defer db.gate.unlock()
	return db.inTx(ctx, fn)
}

// wrap returns a not-found or duplicate error as it is (its message says what), anything else
// prefixed with what was being done.
func wrap(err error, format string, args ...any) error {
	var re *recordError
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// ignoredColumns returns scan destinations for the columns of rows after the known ones.
func ignoredColumns(rows *sql.Rows, known string) ([]any, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	ignored := make([]any, max(len(cols)-strings.Count(known, ",")-1, 0))
	for i := range ignored {
		ignored[i] = new(any)
	}
	return ignored, nil
}
