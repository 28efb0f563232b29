-- The credits a render was estimated to use when it was asked for (viggle.RenderCredits of the scene's
-- duration, when the bot knows it; 0 when unknown), shown while it runs and in /job.

-- +goose Up
ALTER TABLE jobs ADD COLUMN estimated_credits INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN estimated_credits;
