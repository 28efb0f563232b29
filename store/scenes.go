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

// Scene is a Viggle scene imported into a guild (one row per guild and scene).
type Scene struct {
	GuildID    string
	SceneID    string // Viggle's scene id
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

const sceneColumns = `guild_id, scene_id, name, template_id, status, error, duration_ms, persons,
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
		duration         sql.NullInt64
		persons          string
		created, updated sql.NullInt64
	)
	dest := append([]any{&sc.GuildID, &sc.SceneID, &sc.Name, &sc.TemplateID, &sc.Status, &sc.Error,
		&duration, &persons, &sc.ImportedBy, &created, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, "", err
	}
	if duration.Valid {
		sc.Duration = time.Duration(duration.Int64) * time.Millisecond
	}
	sc.CreatedAt = fromMillis(created)
	sc.UpdatedAt = fromMillis(updated)
	return &sc, persons, nil
}

func (sc *Scene) decodePersons(persons string) error {
	if err := json.Unmarshal([]byte(persons), &sc.Persons); err != nil {
		return fmt.Errorf("scene %s: decode persons: %w", sc.SceneID, err)
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

// InsertScene adds a scene to its guild. An empty Status means StatusPending; zero CreatedAt and
// UpdatedAt are set to now; Name is stored without surrounding spaces (all written back to s). It
// returns ErrDuplicate when the guild has the scene already or another one of that name.
func (db *DB) InsertScene(ctx context.Context, s *Scene) error {
	if s.Status == "" {
		s.Status = StatusPending
	}
	s.Name = strings.TrimSpace(s.Name)
	key := nameKey(s.Name)
	var err error
	switch {
	case s.GuildID == "" || s.SceneID == "":
		err = errors.New("empty guild or scene id")
	case key == "":
		err = errors.New("empty name")
	case !s.Status.Valid():
		err = fmt.Errorf("invalid status %q", s.Status)
	}
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.SceneID, err)
	}
	persons, err := encodePersons(s.Persons)
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.SceneID, err)
	}
	duration, err := durationMillis(s.Duration)
	if err != nil {
		return fmt.Errorf("store: insert scene %s: %w", s.SceneID, err)
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
		err := tx.QueryRowContext(ctx, `SELECT scene_id FROM scenes WHERE guild_id = ? AND name_key = ?`,
			s.GuildID, key).Scan(&other)
		switch {
		case err == nil:
			return duplicate("guild %s already has a scene named %q (%s)", s.GuildID, s.Name, other)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scenes (`+sceneColumns+`, name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.GuildID, s.SceneID, s.Name, s.TemplateID, s.Status, s.Error, duration, persons,
			s.ImportedBy, s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli(), key)
		if isUnique(err) {
			return duplicate("scene %s is already in guild %s", s.SceneID, s.GuildID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: insert scene %s in guild %s", s.SceneID, s.GuildID)
	}
	return nil
}

// UpdateScene writes what following an import changes: s's Status, Error, Duration and Persons (and
// updated_at = now), then reads the whole row back into s. It returns ErrNotFound when the guild
// has no such scene.
func (db *DB) UpdateScene(ctx context.Context, s *Scene) error {
	if !s.Status.Valid() {
		return fmt.Errorf("store: update scene %s: invalid status %q", s.SceneID, s.Status)
	}
	persons, err := encodePersons(s.Persons)
	if err != nil {
		return fmt.Errorf("store: update scene %s: %w", s.SceneID, err)
	}
	duration, err := durationMillis(s.Duration)
	if err != nil {
		return fmt.Errorf("store: update scene %s: %w", s.SceneID, err)
	}
	var got *Scene
	err = db.write(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanScene(tx.QueryRowContext(ctx, `UPDATE scenes
			SET status = ?, error = ?, duration_ms = ?, persons = ?, updated_at = ?
			WHERE guild_id = ? AND scene_id = ? RETURNING `+sceneColumns,
			s.Status, s.Error, duration, persons, db.now().UnixMilli(), s.GuildID, s.SceneID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("scene %s not found in guild %s", s.SceneID, s.GuildID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: update scene %s in guild %s", s.SceneID, s.GuildID)
	}
	*s = *got
	return nil
}

// GetScene returns the guild's scene with that Viggle id (case-sensitive), or ErrNotFound.
func (db *DB) GetScene(ctx context.Context, guildID, sceneID string) (*Scene, error) {
	s, err := db.oneScene(ctx, `WHERE guild_id = ? AND scene_id = ?`, guildID, sceneID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("scene %s not found in guild %s", sceneID, guildID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get scene %s in guild %s: %w", sceneID, guildID, err)
	}
	return s, nil
}

// SceneByName returns the guild's scene of that name (case-insensitive), or ErrNotFound.
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

func (db *DB) oneScene(ctx context.Context, where string, args ...any) (*Scene, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	return scanScene(db.sql.QueryRowContext(ctx, `SELECT `+sceneColumns+` FROM scenes `+where, args...))
}

// ListScenes returns the guild's scenes by name (case-insensitive).
func (db *DB) ListScenes(ctx context.Context, guildID string) ([]*Scene, error) {
	scenes, err := db.queryScenes(ctx, `SELECT `+sceneColumns+` FROM scenes WHERE guild_id = ?
		ORDER BY name_key, scene_id`, guildID)
	if err != nil {
		return nil, fmt.Errorf("store: list scenes of guild %s: %w", guildID, err)
	}
	return scenes, nil
}

// DeleteScene forgets the guild's scene (other guilds keep theirs), or returns ErrNotFound.
func (db *DB) DeleteScene(ctx context.Context, guildID, sceneID string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM scenes WHERE guild_id = ? AND scene_id = ?`, guildID, sceneID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = notFound("scene %s not found in guild %s", sceneID, guildID)
		}
		return err
	})
	if err != nil {
		return wrap(err, "store: delete scene %s in guild %s", sceneID, guildID)
	}
	return nil
}

// suggestScenesSQL selects, for each status in suggestOrder, up to ?6 scenes of guild ?1 whose name
// key is in [?2, ?3) and up to ?6 whose lower(id) is in [?4, ?5). Each part is an index range scan
// read in index order (named: the planner would rather take the unique index on the name and
// filter the status, reading every match), so it reads no more rows than it returns and sorts
// nothing; rank says which part a row comes from (a status's name matches, then its id matches),
// sort its place there. SuggestScenes orders the at most 8×?6 rows.
var suggestScenesSQL = func() string {
	var parts []string
	for i, st := range suggestOrder {
		parts = append(parts,
			`SELECT * FROM (SELECT `+sceneColumns+`, `+strconv.Itoa(2*i)+` AS rank, name_key AS sort
				FROM scenes INDEXED BY scenes_guild_status_name_idx
				WHERE guild_id = ?1 AND status = '`+string(st)+`' AND name_key >= ?2 AND name_key < ?3
				ORDER BY name_key LIMIT ?6)`,
			`SELECT * FROM (SELECT `+sceneColumns+`, `+strconv.Itoa(2*i+1)+` AS rank, lower(scene_id) AS sort
				FROM scenes INDEXED BY scenes_guild_status_id_idx
				WHERE guild_id = ?1 AND status = '`+string(st)+`' AND lower(scene_id) >= ?4 AND lower(scene_id) < ?5
				ORDER BY lower(scene_id) LIMIT ?6)`)
	}
	return strings.Join(parts, "\nUNION ALL\n")
}()

// SuggestScenes returns up to limit (at most MaxSuggestions) of the guild's scenes whose name or
// Viggle id starts with prefix, case-insensitively (leading spaces ignored; no character is a
// wildcard): ready ones first, then processing, pending and failed ones; within a status those
// matched by name (by name) before those matched by id only (by id). It reads SQLite only, in one
// statement.
func (db *DB) SuggestScenes(ctx context.Context, guildID, prefix string, limit int) ([]*Scene, error) {
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
	}, suggestScenesSQL, guildID, nameLo, nameHi, idLo, idHi, limit)
	if err != nil {
		return nil, fmt.Errorf("store: suggest scenes of guild %s: %w", guildID, err)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.sort, b.sort),
			strings.Compare(a.s.SceneID, b.s.SceneID))
	})
	// A scene matched by both name and id comes twice: keep its first place.
	seen := make(map[string]bool, len(rows))
	var out []*Scene
	for _, r := range rows {
		if len(out) == limit {
			break
		}
		if !seen[r.s.SceneID] {
			seen[r.s.SceneID] = true
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
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, err
	}
	defer db.gate.unlock()
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ignored, err := ignoredColumns(rows, sceneColumns)
	if err != nil {
		return nil, err
	}
	var scenes []*Scene
	for rows.Next() {
		s, err := scanScene(rows, ignored...)
		if err != nil {
			return nil, err
		}
		scenes = append(scenes, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return scenes, nil
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
