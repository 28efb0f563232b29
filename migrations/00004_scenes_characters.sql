-- Scenes imported into a guild and characters made by its members (issue 9). Timestamps are INTEGER
-- unix milliseconds. name_key is the name case-folded by the store (Unicode case folding, done in Go:
-- SQLite's lower() folds ASCII only), compared as bytes; a prefix is found as a range of keys. Viggle
-- ids are found by prefix case-insensitively through lower(id) (ids are ASCII). status is Viggle's
-- processing status only: an approval state (issue 10) goes into columns of its own.

-- +goose Up
-- One row per scene imported into a guild. The same Viggle scene may be imported into several guilds.
CREATE TABLE scenes (
    guild_id    TEXT    NOT NULL CHECK (guild_id <> ''),
    scene_id    TEXT    NOT NULL CHECK (scene_id <> ''),
    name        TEXT    NOT NULL CHECK (name <> ''),
    name_key    TEXT    NOT NULL CHECK (name_key <> ''),
    template_id TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms > 0),
    -- [{"uuid": "...", "type": "..."}, ...] in Viggle's order.
    persons     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(persons) AND json_type(persons) = 'array'),
    imported_by TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, scene_id),
    UNIQUE (guild_id, name_key)
) STRICT;

-- A guild's scenes by name prefix and by id prefix (autocomplete), ready ones first.
CREATE INDEX scenes_guild_status_name_idx ON scenes (guild_id, status, name_key);
CREATE INDEX scenes_guild_status_id_idx ON scenes (guild_id, status, lower(scene_id));
-- A Viggle scene in every guild that imported it.
CREATE INDEX scenes_scene_id_idx ON scenes (scene_id);

-- One row per character (Viggle's preprocessed photo). Its name is unique per owner, across guilds;
-- guild_id is where it was made (and which Viggle key made it, once guilds have keys); shared = 1
-- shares it with that guild, where shared names are unique too (a name in a map resolves to one).
CREATE TABLE characters (
    character_id  TEXT    NOT NULL PRIMARY KEY CHECK (character_id <> ''),
    owner_id      TEXT    NOT NULL CHECK (owner_id <> ''),
    guild_id      TEXT    NOT NULL,
    name          TEXT    NOT NULL CHECK (name <> ''),
    name_key      TEXT    NOT NULL CHECK (name_key <> ''),
    shared        INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1) AND (shared = 0 OR guild_id <> '')),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error         TEXT    NOT NULL DEFAULT '',
    thumbnail_url TEXT    NOT NULL DEFAULT '',
    image_url     TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (owner_id, name_key)
) STRICT;

-- A guild's shared characters by name: one per name.
CREATE UNIQUE INDEX characters_shared_name_idx ON characters (guild_id, name_key) WHERE shared = 1;
-- An owner's characters and a guild's shared ones by name prefix (autocomplete), ready ones first.
CREATE INDEX characters_owner_status_name_idx ON characters (owner_id, status, name_key);
CREATE INDEX characters_shared_status_name_idx ON characters (guild_id, status, name_key) WHERE shared = 1;

-- +goose Down
DROP INDEX characters_shared_status_name_idx;
DROP INDEX characters_owner_status_name_idx;
DROP INDEX characters_shared_name_idx;
DROP TABLE characters;
DROP INDEX scenes_scene_id_idx;
DROP INDEX scenes_guild_status_id_idx;
DROP INDEX scenes_guild_status_name_idx;
DROP TABLE scenes;
