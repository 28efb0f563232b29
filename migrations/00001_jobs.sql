-- +goose Up
-- One row per render job. Timestamps are INTEGER unix milliseconds, NULL when unset
-- (lease_expires_at uses 0 instead). interaction_id and viggle_job_id are NULL when unknown,
-- so the UNIQUE constraints only apply to real ids.
CREATE TABLE jobs (
    id                  TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    origin              TEXT    NOT NULL CHECK (origin IN ('terminal', 'discord')),
    owner_id            TEXT    NOT NULL,
    guild_id            TEXT    NOT NULL DEFAULT '',
    channel_id          TEXT    NOT NULL DEFAULT '',
    interaction_id      TEXT    UNIQUE CHECK (interaction_id IS NULL OR interaction_id <> ''),
    interaction_token   TEXT    NOT NULL DEFAULT '',
    token_expires_at    INTEGER,
    upload_limit        INTEGER NOT NULL DEFAULT 0,
    target              TEXT    NOT NULL DEFAULT '',
    scene_id            TEXT    NOT NULL,
    mapping             TEXT    NOT NULL CHECK (json_valid(mapping)),
    background          TEXT    NOT NULL DEFAULT '',
    bg_color            TEXT    NOT NULL DEFAULT '',
    fast                INTEGER NOT NULL DEFAULT 0 CHECK (fast IN (0, 1)),
    model               TEXT    NOT NULL DEFAULT '',
    viggle_job_id       TEXT    UNIQUE CHECK (viggle_job_id IS NULL OR viggle_job_id <> ''),
    state               TEXT    NOT NULL CHECK (state IN ('queued', 'submitting', 'running', 'complete',
                                    'delivering', 'delivered', 'failed', 'cancelled', 'interrupted',
                                    'undeliverable')),
    viggle_status       TEXT    NOT NULL DEFAULT '',
    progress            INTEGER NOT NULL DEFAULT 0,
    stage               TEXT    NOT NULL DEFAULT '',
    video_url           TEXT    NOT NULL DEFAULT '',
    mask_url            TEXT    NOT NULL DEFAULT '',
    video_size          INTEGER NOT NULL DEFAULT 0,
    mask_size           INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT    NOT NULL DEFAULT '',
    error_message       TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    acknowledged_at     INTEGER,
    submitted_at        INTEGER,
    completed_at        INTEGER,
    delivered_at        INTEGER,
    closed_at           INTEGER,
    updated_at          INTEGER NOT NULL,
    delivery            TEXT    NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    poll_failures       INTEGER NOT NULL DEFAULT 0,
    cancel_requested_at INTEGER,
    cancel_requested_by TEXT    NOT NULL DEFAULT '',
    lease_owner         TEXT    NOT NULL DEFAULT '',
    lease_expires_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- This owner's jobs, newest first (/jobs).
CREATE INDEX jobs_owner_created_idx ON jobs (origin, guild_id, owner_id, created_at DESC, id DESC);

-- Unfinished jobs, resumed at start-up.
CREATE INDEX jobs_unfinished_idx ON jobs (origin, created_at) WHERE closed_at IS NULL;

-- +goose Down
DROP INDEX jobs_unfinished_idx;
DROP INDEX jobs_owner_created_idx;
DROP TABLE jobs;
