-- PostgreSQL twin of ../00002_retries.sql.
-- +goose Up
ALTER TABLE jobs ADD COLUMN retry_of TEXT COLLATE "C" CHECK (retry_of IS NULL OR retry_of <> '');
CREATE UNIQUE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;

-- +goose Down
DROP INDEX jobs_retry_of;
ALTER TABLE jobs DROP COLUMN retry_of;
