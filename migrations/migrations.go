// Package migrations holds the bot's database schema as numbered goose SQL files.
//
// Files are named NNNNN_description.sql and contain "-- +goose Up" and "-- +goose Down" sections.
// A file that has been applied anywhere is never edited; schema changes go into a new file.
package migrations

import "embed"

// FS holds every migration file of this package, for goose.NewProvider.
//
//go:embed *.sql
var FS embed.FS
