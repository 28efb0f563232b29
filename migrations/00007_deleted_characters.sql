-- The Viggle ids of characters deleted here (by their owner or a moderator), so that a deleted
-- character's id, which members may have seen, cannot be rendered with any more: photos of people are
-- sensitive, and deleting one withdraws it. Filled by a trigger, so that every way of deleting a
-- character row records it.

-- +goose Up
CREATE TABLE deleted_characters (
	viggle_id  TEXT PRIMARY KEY,
	deleted_at INTEGER NOT NULL -- Unix milliseconds
) WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER characters_deleted AFTER DELETE ON characters
WHEN OLD.viggle_id IS NOT NULL
BEGIN
	INSERT OR IGNORE INTO deleted_characters (viggle_id, deleted_at)
	VALUES (OLD.viggle_id, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER characters_deleted;
DROP TABLE deleted_characters;
