-- A Retry button makes a new job from a failed or interrupted one. retry_of names the job it retries,
-- and at most one job may retry a given job: a double click on Retry must not pay twice.

-- +goose Up
ALTER TABLE jobs ADD COLUMN retry_of TEXT CHECK (retry_of IS NULL OR retry_of <> '');
CREATE UNIQUE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;

-- +goose Down
DROP INDEX jobs_retry_of;
ALTER TABLE jobs DROP COLUMN retry_of;
