-- PostgreSQL twin of ../00003_followup.sql.
-- +goose Up
ALTER TABLE jobs ADD COLUMN followed_up_at BIGINT;

-- +goose Down
ALTER TABLE jobs DROP COLUMN followed_up_at;
