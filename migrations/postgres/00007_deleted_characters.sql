-- PostgreSQL twin of ../00007_deleted_characters.sql: the Viggle ids of deleted characters, recorded by a
-- trigger on every delete of a character row.

-- +goose Up
CREATE TABLE deleted_characters (
	viggle_id  TEXT COLLATE "C" PRIMARY KEY,
	deleted_at BIGINT NOT NULL -- Unix milliseconds
);

-- +goose StatementBegin
CREATE FUNCTION characters_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO deleted_characters (viggle_id, deleted_at)
	VALUES (OLD.viggle_id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
	ON CONFLICT (viggle_id) DO NOTHING;
	RETURN OLD;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER characters_deleted AFTER DELETE ON characters
FOR EACH ROW WHEN (OLD.viggle_id IS NOT NULL) EXECUTE FUNCTION characters_deleted();

-- +goose Down
DROP TRIGGER characters_deleted ON characters;
DROP FUNCTION characters_deleted();
DROP TABLE deleted_characters;
