-- PostgreSQL twin of ../00004_scenes_characters.sql (see there for what the columns mean).
-- +goose Up
CREATE TABLE scenes (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    guild_id    TEXT COLLATE "C" NOT NULL CHECK (guild_id <> ''),
    key_ref     TEXT COLLATE "C" NOT NULL DEFAULT '',
    viggle_id   TEXT COLLATE "C" CHECK (viggle_id IS NULL OR viggle_id <> ''),
    name        TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    name_key    TEXT COLLATE "C" NOT NULL CHECK (name_key <> ''),
    template_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    status      TEXT COLLATE "C" NOT NULL CHECK (status <> ''),
    error       TEXT COLLATE "C" NOT NULL DEFAULT '',
    duration_ms BIGINT CHECK (duration_ms IS NULL OR duration_ms > 0),
    persons     TEXT COLLATE "C" NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(persons::jsonb) = 'array'),
    imported_by TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE UNIQUE INDEX scenes_guild_name_idx ON scenes (guild_id, name_key);
CREATE UNIQUE INDEX scenes_guild_viggle_id_idx ON scenes (guild_id, viggle_id) WHERE viggle_id IS NOT NULL;
CREATE INDEX scenes_guild_status_name_idx ON scenes (guild_id, status, name_key);
CREATE INDEX scenes_guild_status_id_idx ON scenes (guild_id, status, lower(viggle_id)) WHERE viggle_id IS NOT NULL;

CREATE TABLE characters (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    owner_id      TEXT COLLATE "C" NOT NULL CHECK (owner_id <> ''),
    guild_id      TEXT COLLATE "C" NOT NULL,
    key_ref       TEXT COLLATE "C" NOT NULL DEFAULT '',
    viggle_id     TEXT COLLATE "C" CHECK (viggle_id IS NULL OR viggle_id <> ''),
    name          TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    name_key      TEXT COLLATE "C" NOT NULL CHECK (name_key <> ''),
    shared        BIGINT NOT NULL DEFAULT 0 CHECK (shared IN (0, 1) AND (shared = 0 OR guild_id <> '')),
    status        TEXT COLLATE "C" NOT NULL CHECK (status <> ''),
    error         TEXT COLLATE "C" NOT NULL DEFAULT '',
    thumbnail_url TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE UNIQUE INDEX characters_owner_name_idx ON characters (owner_id, name_key);
CREATE UNIQUE INDEX characters_shared_name_idx ON characters (guild_id, name_key) WHERE shared = 1;
CREATE UNIQUE INDEX characters_viggle_id_idx ON characters (viggle_id) WHERE viggle_id IS NOT NULL;
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
