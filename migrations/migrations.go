// Package migrations holds the bot's database schema as numbered goose SQL files: the SQLite ones in
// this folder, and their PostgreSQL twins, with the same numbers, in postgres/.
//
// Files are named NNNNN_description.sql and contain "-- +goose Up" and "-- +goose Down" sections.
// A file that has been applied anywhere is never edited; schema changes go into a new file, in both
// folders: the two schemas are the same tables, columns, constraints and indexes, each in its own
// engine's types (TestSchemasMatch in package store compares them).
package migrations

import (
	"embed"
	"io/fs"
)

// FS holds the SQLite migrations, for goose.NewProvider.
//
//go:embed *.sql
var FS embed.FS

//go:embed postgres/*.sql
var postgresFS embed.FS

// PostgresFS holds the PostgreSQL migrations, for goose.NewProvider.
var PostgresFS = mustSub(postgresFS, "postgres")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant embedded folder
	}
	return sub
}
