package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Rows to resume at start-up: scenes and characters whose create was being sent (submitting) or
// that Viggle is still preparing (pending, processing).

// unfinishedStatuses is the SQL list of the statuses a resume looks at.
const unfinishedStatuses = `('` + string(StatusSubmitting) + `', '` + string(StatusPending) + `', '` +
	string(StatusProcessing) + `')`

// UnfinishedScenes returns the scenes (of every guild) still submitting, pending or processing,
// oldest first. It reads the whole table (a start-up query).
func (db *DB) UnfinishedScenes(ctx context.Context) ([]*Scene, error) {
	scenes, err := db.queryScenes(ctx, `SELECT `+sceneColumns+` FROM scenes
		WHERE status IN `+unfinishedStatuses+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished scenes: %w", err)
	}
	return scenes, nil
}

// UnfinishedCharacters returns the characters still submitting, pending or processing, oldest
// first. It reads the whole table (a start-up query).
func (db *DB) UnfinishedCharacters(ctx context.Context) ([]*Character, error) {
	cs, err := db.queryCharacters(ctx, `SELECT `+characterColumns+` FROM characters
		WHERE status IN `+unfinishedStatuses+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished characters: %w", err)
	}
	return cs, nil
}

// AbandonScene moves the scene with that id from submitting to unknown (its import may have
// reached Viggle: it is never sent again), with fact as its Error, and returns the row. It returns
// ErrNotFound for an unknown id and ErrConflict when the row is no longer submitting.
func (db *DB) AbandonScene(ctx context.Context, id, fact string) (*Scene, error) {
	var got *Scene
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanScene(tx.QueryRowContext(ctx, `UPDATE scenes SET status = ?, error = ?, updated_at = ?
			WHERE id = ? AND status = ? RETURNING `+sceneColumns,
			StatusUnknown, fact, db.now().UnixMilli(), id, StatusSubmitting))
		if errors.Is(err, sql.ErrNoRows) {
			return abandonMiss(ctx, tx, "scenes", id)
		}
		return err
	})
	if err != nil {
		return nil, wrap(err, "store: abandon scene %s", id)
	}
	return got, nil
}

// AbandonCharacter is AbandonScene for a character.
func (db *DB) AbandonCharacter(ctx context.Context, id, fact string) (*Character, error) {
	var got *Character
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanCharacter(tx.QueryRowContext(ctx, `UPDATE characters SET status = ?, error = ?, updated_at = ?
			WHERE id = ? AND status = ? RETURNING `+characterColumns,
			StatusUnknown, fact, db.now().UnixMilli(), id, StatusSubmitting))
		if errors.Is(err, sql.ErrNoRows) {
			return abandonMiss(ctx, tx, "characters", id)
		}
		return err
	})
	if err != nil {
		return nil, wrap(err, "store: abandon character %s", id)
	}
	return got, nil
}

// abandonMiss says why an abandon matched no row: the id is unknown, or the row is not submitting.
func abandonMiss(ctx context.Context, tx *sql.Tx, table, id string) error {
	var st Status
	err := tx.QueryRowContext(ctx, `SELECT status FROM `+table+` WHERE id = ?`, id).Scan(&st)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound("%s %s not found", table[:len(table)-1], id)
	case err != nil:
		return err
	}
	return fmt.Errorf("status %s, not %s: %w", st, StatusSubmitting, ErrConflict)
}
