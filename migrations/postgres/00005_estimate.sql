-- PostgreSQL twin of ../00005_estimate.sql.
-- +goose Up
ALTER TABLE jobs ADD COLUMN estimated_credits BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN estimated_credits;
