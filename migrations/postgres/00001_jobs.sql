-- PostgreSQL twin of ../00001_jobs.sql: the same table, columns, constraints and indexes, in PostgreSQL's
-- types. Timestamps are BIGINT unix milliseconds; booleans are 0/1 integers, as in SQLite, so that every
-- query of package store runs unchanged on both. Text is COLLATE "C": compared byte by byte, as SQLite's
-- BINARY collation does (name prefixes are found as ranges of bytes, and ties are broken by id).
-- +goose Up
CREATE TABLE jobs (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (id <> ''),
    origin              TEXT COLLATE "C" NOT NULL CHECK (origin IN ('terminal', 'discord')),
    owner_id            TEXT COLLATE "C" NOT NULL,
    guild_id            TEXT COLLATE "C" NOT NULL DEFAULT '',
    channel_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    interaction_id      TEXT COLLATE "C" UNIQUE CHECK (interaction_id IS NULL OR interaction_id <> ''),
    interaction_token   TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_expires_at    BIGINT,
    upload_limit        BIGINT  NOT NULL DEFAULT 0,
    target              TEXT COLLATE "C" NOT NULL DEFAULT '',
    scene_id            TEXT COLLATE "C" NOT NULL,
    mapping             TEXT COLLATE "C" NOT NULL CHECK ((mapping::jsonb) IS NOT NULL),
    background          TEXT COLLATE "C" NOT NULL DEFAULT '',
    bg_color            TEXT COLLATE "C" NOT NULL DEFAULT '',
    fast                BIGINT  NOT NULL DEFAULT 0 CHECK (fast IN (0, 1)),
    model               TEXT COLLATE "C" NOT NULL DEFAULT '',
    viggle_job_id       TEXT COLLATE "C" UNIQUE CHECK (viggle_job_id IS NULL OR viggle_job_id <> ''),
    state               TEXT COLLATE "C" NOT NULL CHECK (state IN ('queued', 'submitting', 'running', 'complete',
                                    'delivering', 'delivered', 'failed', 'cancelled', 'interrupted',
                                    'undeliverable')),
    viggle_status       TEXT COLLATE "C" NOT NULL DEFAULT '',
    progress            BIGINT  NOT NULL DEFAULT 0,
    stage               TEXT COLLATE "C" NOT NULL DEFAULT '',
    video_url           TEXT COLLATE "C" NOT NULL DEFAULT '',
    mask_url            TEXT COLLATE "C" NOT NULL DEFAULT '',
    video_size          BIGINT  NOT NULL DEFAULT 0,
    mask_size           BIGINT  NOT NULL DEFAULT 0,
    error_code          TEXT COLLATE "C" NOT NULL DEFAULT '',
    error_message       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at          BIGINT  NOT NULL,
    acknowledged_at     BIGINT,
    submitted_at        BIGINT,
    completed_at        BIGINT,
    delivered_at        BIGINT,
    closed_at           BIGINT,
    updated_at          BIGINT  NOT NULL,
    delivery            TEXT COLLATE "C" NOT NULL DEFAULT '',
    attempts            BIGINT  NOT NULL DEFAULT 0,
    poll_failures       BIGINT  NOT NULL DEFAULT 0,
    cancel_requested_at BIGINT,
    cancel_requested_by TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_owner         TEXT COLLATE "C" NOT NULL DEFAULT '',
    lease_expires_at    BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX jobs_owner_created_idx ON jobs (origin, guild_id, owner_id, created_at DESC, id DESC);
CREATE INDEX jobs_unfinished_idx ON jobs (origin, created_at) WHERE closed_at IS NULL;

-- +goose Down
DROP INDEX jobs_unfinished_idx;
DROP INDEX jobs_owner_created_idx;
DROP TABLE jobs;
