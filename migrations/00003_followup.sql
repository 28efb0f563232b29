-- After a result was delivered (or its owner told of the outcome), the bot may send one follow-up that
-- mentions the owner. followed_up_at records that step (NULL until done), so that a restart does not
-- repeat it. The delivery column now holds JSON (legacy strings stay readable).

-- +goose Up
ALTER TABLE jobs ADD COLUMN followed_up_at INTEGER;

-- +goose Down
ALTER TABLE jobs DROP COLUMN followed_up_at;
