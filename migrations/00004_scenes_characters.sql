-- Scenes imported into a guild and characters made by its members (issue 9). Timestamps are INTEGER
-- unix milliseconds.
--
-- A create costs credits and may not be sent twice (reliability.md §1), so a row is committed before
-- its POST under a bot-made id, in status 'submitting', and the Viggle id (viggle_id) is recorded
-- right after the answer; a POST whose outcome is unknown leaves the row in 'unknown' (it may exist
-- at Viggle). viggle_id is NULL until known. Statuses are validated in Go (store.Status.Valid), not
-- listed here, so a new one needs no table rebuild; uniqueness is kept by named unique indexes, so a
-- later migration can change a scope by replacing an index.
--
-- key_ref names the Viggle key a row was made with ('' = the bot's shared VIGGLE_API_KEY; later a
-- fingerprint of a guild's key, issue 10): an object made under one key does not exist under another.
--
-- name_key is the name as the store keys it (Unicode NFC, then case folding, done in Go: SQLite's
-- lower() folds ASCII only), compared as bytes; a prefix is found as a range of keys. A row holds its
-- name whatever its status, from the insert on, until it is deleted. Viggle ids are found by prefix
-- case-insensitively through lower(viggle_id) (ids are ASCII). status is the processing status only:
-- an approval state (issue 10) goes into columns of its own.

-- +goose Up
-- One row per scene imported into a guild.
CREATE TABLE scenes (
    id          TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    guild_id    TEXT    NOT NULL CHECK (guild_id <> ''),
    key_ref     TEXT    NOT NULL DEFAULT '',
    viggle_id   TEXT    CHECK (viggle_id IS NULL OR viggle_id <> ''),
    name        TEXT    NOT NULL CHECK (name <> ''),
    name_key    TEXT    NOT NULL CHECK (name_key <> ''),
    template_id TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status <> ''),
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms > 0),
    -- [{"uuid": "...", "type": "..."}, ...] in Viggle's order.
    persons     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(persons) AND json_type(persons) = 'array'),
    imported_by TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- A scene's name is unique in its guild (rows of every status).
CREATE UNIQUE INDEX scenes_guild_name_idx ON scenes (guild_id, name_key);
-- A Viggle scene is in a guild once.
CREATE UNIQUE INDEX scenes_guild_viggle_id_idx ON scenes (guild_id, viggle_id) WHERE viggle_id IS NOT NULL;
-- A guild's scenes by name prefix and by Viggle id prefix (autocomplete), ready ones first.
CREATE INDEX scenes_guild_status_name_idx ON scenes (guild_id, status, name_key);
CREATE INDEX scenes_guild_status_id_idx ON scenes (guild_id, status, lower(viggle_id)) WHERE viggle_id IS NOT NULL;

-- One row per character (Viggle's preprocessed photo). guild_id is where it was made ('' outside a
-- guild); shared = 1 shares it with that guild. No image URL is kept: a Discord attachment URL is
-- signed, expires, and points at a photo of a person.
CREATE TABLE characters (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    owner_id      TEXT    NOT NULL CHECK (owner_id <> ''),
    guild_id      TEXT    NOT NULL,
    key_ref       TEXT    NOT NULL DEFAULT '',
    viggle_id     TEXT    CHECK (viggle_id IS NULL OR viggle_id <> ''),
    name          TEXT    NOT NULL CHECK (name <> ''),
    name_key      TEXT    NOT NULL CHECK (name_key <> ''),
    shared        INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1) AND (shared = 0 OR guild_id <> '')),
    status        TEXT    NOT NULL CHECK (status <> ''),
    error         TEXT    NOT NULL DEFAULT '',
    thumbnail_url TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- A character's name is unique per owner, across guilds (rows of every status).
CREATE UNIQUE INDEX characters_owner_name_idx ON characters (owner_id, name_key);
-- A guild shares one character per name (a name in a map resolves to one).
CREATE UNIQUE INDEX characters_shared_name_idx ON characters (guild_id, name_key) WHERE shared = 1;
-- A Viggle character is recorded once.
CREATE UNIQUE INDEX characters_viggle_id_idx ON characters (viggle_id) WHERE viggle_id IS NOT NULL;
-- An owner's characters and a guild's shared ones made with a key, by name prefix (autocomplete),
-- ready ones first.
CREATE INDEX characters_owner_key_status_name_idx ON characters (owner_id, key_ref, status, name_key);
CREATE INDEX characters_shared_key_status_name_idx ON characters (guild_id, key_ref, status, name_key) WHERE shared = 1;

-- +goose Down
DROP INDEX characters_shared_key_status_name_idx;
DROP INDEX characters_owner_key_status_name_idx;
DROP INDEX characters_viggle_id_idx;
DROP INDEX characters_shared_name_idx;
DROP INDEX characters_owner_name_idx;
DROP TABLE characters;
DROP INDEX scenes_guild_status_id_idx;
DROP INDEX scenes_guild_status_name_idx;
DROP INDEX scenes_guild_viggle_id_idx;
DROP INDEX scenes_guild_name_idx;
DROP TABLE scenes;
