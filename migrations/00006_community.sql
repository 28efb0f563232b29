-- Community controls (issue 10): a guild's settings (limits, gates, defaults, approval) and the log of who
-- changed what, its own Viggle keys, the key each job was made with, the review of characters, and the
-- indexes the limit counts and the key-scoped lookups read. Timestamps are INTEGER unix milliseconds.
--
-- A guild's key is stored sealed (nonce || AES-256-GCM ciphertext, made by package keyring with the guild
-- id bound as additional data): the store never sees it in clear. key_ref ('' = the bot's shared
-- VIGGLE_API_KEY, else a guild_keys id) names the key of a job, a scene or a character; a retired key's row
-- is kept while an unfinished job, scene or character uses it (store.PurgeRetiredKeys).
--
-- characters.review is the approval state, apart from the processing status: '' (needs none, or
-- approved), 'pending' or 'rejected', validated in Go as statuses are. Only review = '' characters are
-- offered for renders, so the render-side indexes below are partial on it.

-- +goose Up
-- One row per guild whose settings were changed; a guild without a row has the defaults (no limits, no
-- gates). 0 means no limit.
CREATE TABLE guild_settings (
    guild_id                 TEXT    NOT NULL PRIMARY KEY CHECK (guild_id <> ''),
    concurrent_per_user      INTEGER NOT NULL DEFAULT 0 CHECK (concurrent_per_user >= 0),
    renders_per_user_per_day INTEGER NOT NULL DEFAULT 0 CHECK (renders_per_user_per_day >= 0),
    cooldown_seconds         INTEGER NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0),
    guild_renders_per_day    INTEGER NOT NULL DEFAULT 0 CHECK (guild_renders_per_day >= 0),
    channel_id               TEXT    NOT NULL DEFAULT '',
    role_id                  TEXT    NOT NULL DEFAULT '',
    default_background       TEXT    NOT NULL DEFAULT '',
    default_fast             INTEGER NOT NULL DEFAULT 0 CHECK (default_fast IN (0, 1)),
    approval                 INTEGER NOT NULL DEFAULT 0 CHECK (approval IN (0, 1)),
    modlog_channel_id        TEXT    NOT NULL DEFAULT '',
    updated_at               INTEGER NOT NULL
) STRICT;

-- The change log: one row per change of a guild's settings, key or characters, in plain words (never a key).
CREATE TABLE guild_changes (
    id       INTEGER PRIMARY KEY,
    guild_id TEXT    NOT NULL CHECK (guild_id <> ''),
    actor_id TEXT    NOT NULL,
    what     TEXT    NOT NULL CHECK (what <> ''),
    at       INTEGER NOT NULL
) STRICT;

-- A guild's changes, newest first (/config view).
CREATE INDEX guild_changes_guild_at_idx ON guild_changes (guild_id, at DESC);

-- A guild's own Viggle keys: the current one (retired_at NULL) and the retired ones still in use.
CREATE TABLE guild_keys (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    guild_id   TEXT    NOT NULL CHECK (guild_id <> ''),
    sealed     BLOB    NOT NULL CHECK (length(sealed) > 0),
    last4      TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

-- One current key per guild.
CREATE UNIQUE INDEX guild_keys_current_idx ON guild_keys (guild_id) WHERE retired_at IS NULL;

-- The key a job was created with: every Viggle call for it uses that key.
ALTER TABLE jobs ADD COLUMN key_ref TEXT NOT NULL DEFAULT '';

-- The limit counts, read by the insert of a job in its own transaction. A member's jobs of a day and their
-- latest one are read through jobs_owner_created_idx.
-- A member's jobs in progress in a guild (concurrent_per_user).
CREATE INDEX jobs_active_idx ON jobs (guild_id, owner_id) WHERE state IN ('queued', 'submitting', 'running');
-- A guild's jobs of a day (guild_renders_per_day), with what says whether a job counts.
CREATE INDEX jobs_guild_created_idx ON jobs (guild_id, created_at, state, submitted_at);

-- Character review.
ALTER TABLE characters ADD COLUMN review TEXT NOT NULL DEFAULT '';
ALTER TABLE characters ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE characters ADD COLUMN reviewed_at INTEGER;

-- A guild's characters waiting for review, oldest first.
CREATE INDEX characters_pending_idx ON characters (guild_id, created_at) WHERE review = 'pending';

-- Autocomplete offers usable (review = '') characters only: the suggest indexes become partial on it.
DROP INDEX characters_shared_key_status_name_idx;
DROP INDEX characters_owner_key_status_name_idx;
CREATE INDEX characters_owner_key_status_name_idx ON characters (owner_id, key_ref, status, name_key) WHERE review = '';
CREATE INDEX characters_shared_key_status_name_idx ON characters (guild_id, key_ref, status, name_key)
    WHERE shared = 1 AND review = '';

-- A guild's scenes are offered for the key its renders use: the scene suggest indexes gain key_ref.
DROP INDEX scenes_guild_status_id_idx;
DROP INDEX scenes_guild_status_name_idx;
CREATE INDEX scenes_guild_key_status_name_idx ON scenes (guild_id, key_ref, status, name_key);
CREATE INDEX scenes_guild_key_status_id_idx ON scenes (guild_id, key_ref, status, lower(viggle_id))
    WHERE viggle_id IS NOT NULL;

-- +goose Down
DROP INDEX scenes_guild_key_status_id_idx;
DROP INDEX scenes_guild_key_status_name_idx;
CREATE INDEX scenes_guild_status_name_idx ON scenes (guild_id, status, name_key);
CREATE INDEX scenes_guild_status_id_idx ON scenes (guild_id, status, lower(viggle_id)) WHERE viggle_id IS NOT NULL;
DROP INDEX characters_shared_key_status_name_idx;
DROP INDEX characters_owner_key_status_name_idx;
CREATE INDEX characters_owner_key_status_name_idx ON characters (owner_id, key_ref, status, name_key);
CREATE INDEX characters_shared_key_status_name_idx ON characters (guild_id, key_ref, status, name_key) WHERE shared = 1;
DROP INDEX characters_pending_idx;
ALTER TABLE characters DROP COLUMN reviewed_at;
ALTER TABLE characters DROP COLUMN reviewed_by;
ALTER TABLE characters DROP COLUMN review;
DROP INDEX jobs_guild_created_idx;
DROP INDEX jobs_active_idx;
ALTER TABLE jobs DROP COLUMN key_ref;
DROP INDEX guild_keys_current_idx;
DROP TABLE guild_keys;
DROP INDEX guild_changes_guild_at_idx;
DROP TABLE guild_changes;
DROP TABLE guild_settings;
