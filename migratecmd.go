package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/viggle-bot/viggle-bot/store"
	"github.com/viggle-bot/viggle-bot/terminal"
)

const migrateUsage = `usage: %[1]s migrate-to-postgres --from FILE

Copies every row of the SQLite database FILE (the bot's DATABASE_PATH, e.g. ./data/bot.db) into the
PostgreSQL database of DATABASE_URL, in one PostgreSQL transaction: either everything is copied or
nothing is. Both databases are migrated to the current schema first. FILE is only read; it is never
created (a missing FILE is an error).

Stop the bot first: rows it writes to FILE during or after the copy are not in PostgreSQL. A job
leased by a running bot (a lease not yet expired) makes the command refuse; an idle bot holds no
lease and cannot be detected, so stop it.

The target must be empty, or hold rows copied from this FILE before (a re-run, or a run after a
crash or an interruption, which copies what is missing): every PostgreSQL row must have the key of
a row of FILE, with the same values. Any other row (a job whose id is not in FILE, a row that
differs from FILE's) means a bot already runs on that database, or FILE changed since the first
copy: the command refuses and copies nothing. To start over, drop and recreate the PostgreSQL
database. A second run after a complete copy copies nothing.

Afterwards: set DATABASE_URL for the bot (and keep BOT_ENCRYPTION_KEY: servers' own keys are
copied sealed with it), start it, and keep FILE as a backup.

exit codes: 0 copied (or nothing to copy); 2 bad arguments or configuration, no FILE, the bot still
running, or a PostgreSQL database that holds other rows or other columns; 4 a local error (opening,
reading or writing either database).
`

// migrateTables are the tables migrate-to-postgres copies, in this order: every table of the schema
// but goose's own. A table of FILE not listed here stops the copy (a new migration must add it).
var migrateTables = []string{"jobs", "scenes", "characters", "guild_settings", "guild_changes", "guild_keys", "deleted_characters"}

// migrateBatch is how many INSERTs go to PostgreSQL in one round trip.
const migrateBatch = 500

// exitError is an error with the exit code it means.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{code: terminal.ExitBadInput, err: fmt.Errorf(format, args...)}
}

// migrateCommand is `BIN migrate-to-postgres --from FILE`.
func migrateCommand(ctx context.Context, prog string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("migrate-to-postgres", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	from := fset.String("from", "", "")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, migrateUsage, prog)
			return 0
		}
		fmt.Fprintf(stderr, "error: %v; see %s migrate-to-postgres --help\n", err, prog)
		return terminal.ExitBadInput
	}
	switch {
	case fset.NArg() > 0:
		fmt.Fprintf(stderr, "error: unexpected argument %q; see %s migrate-to-postgres --help\n", fset.Arg(0), prog)
		return terminal.ExitBadInput
	case *from == "":
		fmt.Fprintf(stderr, "error: --from FILE is required (the SQLite database to copy, e.g. ./data/bot.db)\n")
		return terminal.ExitBadInput
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "error: configuration: %v\n", err)
		return terminal.ExitBadInput
	}
	if cfg.DatabaseURL == "" {
		fmt.Fprintf(stderr, "error: DATABASE_URL is not set: set it to the PostgreSQL database to copy into, e.g. DATABASE_URL=postgres://viggle:PASSWORD@127.0.0.1:5432/viggle?sslmode=disable\n")
		return terminal.ExitBadInput
	}
	// store.Open would create an empty database: copying nothing into PostgreSQL is a mistake to say.
	fi, err := os.Stat(*from)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "error: there is no SQLite database at %s (--from)\n", *from)
		return terminal.ExitBadInput
	case err != nil:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return terminal.ExitLocal
	case !fi.Mode().IsRegular():
		fmt.Fprintf(stderr, "error: %s (--from) is not a file\n", *from)
		return terminal.ExitBadInput
	}
	log := cfg.logger(stderr, slog.LevelWarn)
	m := &migration{from: *from, url: string(cfg.DatabaseURL), log: log, now: time.Now}
	counts, err := m.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", m.redact(err.Error()))
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return terminal.ExitLocal
	}
	total := 0
	for _, c := range counts {
		fmt.Fprintf(stdout, "%s: %d copied, %d already there\n", c.table, c.copied, c.there)
		total += c.copied
	}
	if total == 0 {
		fmt.Fprintf(stdout, "nothing new: PostgreSQL already holds every row of %s\n", *from)
	} else {
		fmt.Fprintf(stdout, "copied %d rows from %s into %s\n", total, *from, cfg.DatabaseURL)
	}
	fmt.Fprintf(stdout, `next:
  1. set DATABASE_URL in the bot's environment (.env), keeping BOT_ENCRYPTION_KEY as it is
  2. start the bot (and more processes with SHARD_ID/SHARD_COUNT); check says which database it opened
  3. keep %s as a backup: the bot no longer writes to it
`, *from)
	return 0
}

// tableCount is what the copy did to one table.
type tableCount struct {
	table         string
	copied, there int
}

// migration is one run of migrate-to-postgres.
type migration struct {
	from string // the SQLite file
	url  string // DATABASE_URL
	log  *slog.Logger
	now  func() time.Time
}

// redact removes DATABASE_URL's password from s (pgx's errors may quote the connection string).
func (m *migration) redact(s string) string {
	cfg, err := pgx.ParseConfig(m.url)
	if err != nil || cfg.Password == "" {
		if u, err := url.Parse(m.url); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				return redactSecret(s, p)
			}
		}
		return s
	}
	return redactSecret(s, cfg.Password)
}

func redactSecret(s, secret string) string {
	s = strings.ReplaceAll(s, secret, "xxxxx")
	if esc := strings.TrimPrefix(url.UserPassword("", secret).String(), ":"); esc != "" {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	return s
}

// column is one column of a table: its name, and its PostgreSQL type (data_type of information_schema).
type column struct {
	name, pgType string
	pk           bool
}

func (m *migration) run(ctx context.Context) ([]tableCount, error) {
	src, err := store.Open(ctx, m.from, m.log)
	if err != nil {
		return nil, fmt.Errorf("open the SQLite database %s: %w", m.from, err)
	}
	defer func() {
		if err := src.Close(); err != nil {
			m.log.Warn("close the SQLite database", "path", m.from, "err", err)
		}
	}()
	if err := m.checkNotRunning(ctx, src.SQL()); err != nil {
		return nil, err
	}
	if err := m.checkTables(ctx, src.SQL()); err != nil {
		return nil, err
	}
	// OpenPostgres applies the migrations (its errors hold no password); the copy then runs on a
	// connection of its own, in one transaction.
	dst, err := store.OpenPostgres(ctx, m.url, m.log)
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL database %s: %w", store.RedactURL(m.url), err)
	}
	if err := dst.Close(); err != nil {
		m.log.Warn("close the PostgreSQL database", "err", err)
	}
	pcfg, err := pgx.ParseConfig(m.url)
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL database %s: %w", store.RedactURL(m.url), err)
	}
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL %s: %w", store.RedactURL(m.url), err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	// The SQLite side is read in one transaction (BEGIN IMMEDIATE through the store's DSN): one
	// consistent state of FILE, and no writer meanwhile.
	stx, err := src.SQL().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: begin: %w", m.from, err)
	}
	defer func() { _ = stx.Rollback() }()
	ptx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: begin: %w", err)
	}
	defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()
	// A bot starting on PostgreSQL meanwhile waits for the copy (reads go on): the check for rows of
	// others below stays true until the commit.
	if _, err := ptx.Exec(ctx, "LOCK TABLE "+strings.Join(migrateTables, ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return nil, fmt.Errorf("PostgreSQL: lock the tables: %w", err)
	}
	var counts []tableCount
	for _, table := range migrateTables {
		cols, err := m.columns(ctx, stx, ptx, table)
		if err != nil {
			return nil, err
		}
		c, err := m.copyTable(ctx, stx, ptx, table, cols)
		if err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	// guild_changes' ids were copied: the next LogChange on PostgreSQL must get a fresh one.
	if _, err := ptx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('guild_changes', 'id'), max(id)) FROM guild_changes`); err != nil {
		return nil, fmt.Errorf("PostgreSQL: set guild_changes' id sequence past the copied ids: %w", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("PostgreSQL: commit the copy: %w", err)
	}
	return counts, nil
}

// checkNotRunning refuses when a job of FILE has a live lease: a bot is working on it.
func (m *migration) checkNotRunning(ctx context.Context, db *sql.DB) error {
	var n int
	var owner sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT count(*), max(lease_owner) FROM jobs
		WHERE closed_at IS NULL AND lease_owner <> '' AND lease_expires_at > ?`, m.now().UnixMilli()).Scan(&n, &owner); err != nil {
		return fmt.Errorf("read the leases of %s: %w", m.from, err)
	}
	if n > 0 {
		return badInput("a bot is running on %s: %d unfinished job(s) leased by %s (and maybe others) until a moment from now; stop the bot first, then run this again", m.from, n, owner.String)
	}
	return nil
}

// checkTables refuses when FILE has a table the copy does not know (a newer schema than this list).
func (m *migration) checkTables(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("list the tables of %s: %w", m.from, err)
	}
	defer rows.Close()
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("list the tables of %s: %w", m.from, err)
		}
		if !slices.Contains(migrateTables, name) {
			unknown = append(unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list the tables of %s: %w", m.from, err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%s has tables this command does not copy: %s (a bug: it must know every table)", m.from, strings.Join(unknown, ", "))
	}
	return nil
}

// columns returns table's columns from SQLite's PRAGMA table_info, with their PostgreSQL types, and
// refuses when PostgreSQL's table has other columns.
func (m *migration) columns(ctx context.Context, stx *sql.Tx, ptx pgx.Tx, table string) ([]column, error) {
	rows, err := stx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s in %s: %w", table, m.from, err)
	}
	var cols []column
	for rows.Next() {
		var c column
		var pk int
		if err := rows.Scan(&c.name, &pk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the columns of %s in %s: %w", table, m.from, err)
		}
		c.pk = pk > 0
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s in %s: %w", table, m.from, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%s has no table %s", m.from, table)
	}
	prows, err := ptx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: read the columns of %s: %w", table, err)
	}
	pgTypes := map[string]string{}
	for prows.Next() {
		var name, typ string
		if err := prows.Scan(&name, &typ); err != nil {
			prows.Close()
			return nil, fmt.Errorf("PostgreSQL: read the columns of %s: %w", table, err)
		}
		pgTypes[name] = typ
	}
	prows.Close()
	if err := prows.Err(); err != nil {
		return nil, fmt.Errorf("PostgreSQL: read the columns of %s: %w", table, err)
	}
	var missing, extra []string
	for i, c := range cols {
		typ, ok := pgTypes[c.name]
		if !ok {
			missing = append(missing, c.name)
			continue
		}
		cols[i].pgType = typ
		delete(pgTypes, c.name)
	}
	for name := range pgTypes {
		extra = append(extra, name)
	}
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "table %s differs between %s and PostgreSQL", table, m.from)
		if len(missing) > 0 {
			fmt.Fprintf(&b, "; PostgreSQL lacks the column(s) %s", strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "; PostgreSQL has the column(s) %s that %s lacks", strings.Join(extra, ", "), m.from)
		}
		b.WriteString(" (is the PostgreSQL database one of a newer or older version of the bot?); nothing was copied")
		return nil, &exitError{code: terminal.ExitBadInput, err: errors.New(b.String())}
	}
	if !slices.ContainsFunc(cols, func(c column) bool { return c.pk }) {
		return nil, fmt.Errorf("table %s of %s has no primary key", table, m.from)
	}
	return cols, nil
}

// copyTable inserts the rows of table that PostgreSQL lacks, after checking that each row PostgreSQL
// has is FILE's row of that key, with the same values.
func (m *migration) copyTable(ctx context.Context, stx *sql.Tx, ptx pgx.Tx, table string, cols []column) (tableCount, error) {
	tc := tableCount{table: table}
	names := make([]string, len(cols))
	var pkNames []string
	var pkIdx []int
	for i, c := range cols {
		names[i] = c.name
		if c.pk {
			pkNames = append(pkNames, c.name)
			pkIdx = append(pkIdx, i)
		}
	}
	list := strings.Join(names, ", ")

	// What PostgreSQL holds already: a digest of each row, by its key.
	there := map[string][sha256.Size]byte{}
	prows, err := ptx.Query(ctx, "SELECT "+list+" FROM "+table)
	if err != nil {
		return tc, fmt.Errorf("PostgreSQL: read %s: %w", table, err)
	}
	for prows.Next() {
		vals, err := prows.Values()
		if err != nil {
			prows.Close()
			return tc, fmt.Errorf("PostgreSQL: read %s: %w", table, err)
		}
		key, sum, err := digest(vals, pkIdx)
		if err != nil {
			prows.Close()
			return tc, fmt.Errorf("PostgreSQL: read %s: %w", table, err)
		}
		there[key] = sum
	}
	prows.Close()
	if err := prows.Err(); err != nil {
		return tc, fmt.Errorf("PostgreSQL: read %s: %w", table, err)
	}

	params := make([]string, len(cols))
	for i := range params {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	insert := "INSERT INTO " + table + " (" + list + ") VALUES (" + strings.Join(params, ", ") +
		") ON CONFLICT (" + strings.Join(pkNames, ", ") + ") DO NOTHING"

	rows, err := stx.QueryContext(ctx, "SELECT "+list+" FROM "+table+" ORDER BY "+strings.Join(pkNames, ", "))
	if err != nil {
		return tc, fmt.Errorf("read %s of %s: %w", table, m.from, err)
	}
	defer rows.Close()
	batch := &pgx.Batch{}
	flush := func() error {
		if batch.Len() == 0 {
			return nil
		}
		br := ptx.SendBatch(ctx, batch)
		for range batch.Len() {
			tag, err := br.Exec()
			if err != nil {
				_ = br.Close()
				return fmt.Errorf("PostgreSQL: insert into %s: %w", table, err)
			}
			tc.copied += int(tag.RowsAffected())
		}
		batch = &pgx.Batch{}
		return br.Close()
	}
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return tc, fmt.Errorf("read %s of %s: %w", table, m.from, err)
		}
		vals := make([]any, len(cols))
		for i, c := range cols {
			v, err := toPostgres(raw[i], c.pgType)
			if err != nil {
				return tc, fmt.Errorf("read %s of %s: column %s: %w", table, m.from, c.name, err)
			}
			vals[i] = v
		}
		key, sum, err := digest(vals, pkIdx)
		if err != nil {
			return tc, fmt.Errorf("read %s of %s: %w", table, m.from, err)
		}
		if have, ok := there[key]; ok {
			delete(there, key)
			if have != sum {
				return tc, badInput("PostgreSQL already holds a row of %s with the key %s that differs from %s's: a bot has run on PostgreSQL, or %s changed since an earlier copy; nothing was copied (to start over, drop and recreate the PostgreSQL database)", table, showKey(key), m.from, m.from)
			}
			tc.there++
			continue
		}
		batch.Queue(insert, vals...)
		if batch.Len() >= migrateBatch {
			if err := flush(); err != nil {
				return tc, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return tc, fmt.Errorf("read %s of %s: %w", table, m.from, err)
	}
	if err := flush(); err != nil {
		return tc, err
	}
	if len(there) > 0 {
		var example string
		for k := range there {
			if example == "" || k < example {
				example = k
			}
		}
		return tc, badInput("PostgreSQL already holds %d row(s) of %s that are not in %s (e.g. the key %s): a bot already runs on that database; nothing was copied (copy only into an empty database, or one copied from this same file)", len(there), table, m.from, showKey(example))
	}
	return tc, nil
}

// toPostgres converts a value read from SQLite to what the PostgreSQL column of type pgType takes:
// text as string, bytea as []byte, integers as int64.
func toPostgres(v any, pgType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch pgType {
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return slices.Clone(x), nil
		case string:
			return []byte(x), nil
		}
	case "text", "character varying", "character":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		}
	default:
		return nil, fmt.Errorf("PostgreSQL type %s is not one the copy knows", pgType)
	}
	return nil, fmt.Errorf("a %T value for a PostgreSQL %s column", v, pgType)
}

// digest returns a row's key (its primary key columns, idx) and a digest of all its values, in an
// encoding where text and bytes compare by their bytes and integers by their value, so a row read
// from SQLite (converted by toPostgres) and the same row read from PostgreSQL digest alike.
func digest(vals []any, idx []int) (string, [sha256.Size]byte, error) {
	enc := func(b []byte, v any) ([]byte, error) {
		switch x := v.(type) {
		case nil:
			return append(b, 0), nil
		case int64:
			return binary.BigEndian.AppendUint64(append(b, 1), uint64(x)), nil
		case int32:
			return binary.BigEndian.AppendUint64(append(b, 1), uint64(int64(x))), nil
		case int16:
			return binary.BigEndian.AppendUint64(append(b, 1), uint64(int64(x))), nil
		case string:
			return append(binary.BigEndian.AppendUint64(append(b, 2), uint64(len(x))), x...), nil
		case []byte:
			return append(binary.BigEndian.AppendUint64(append(b, 2), uint64(len(x))), x...), nil
		}
		return nil, fmt.Errorf("a value of type %T", v)
	}
	var key []byte
	for _, i := range idx {
		var err error
		if key, err = enc(key, vals[i]); err != nil {
			return "", [sha256.Size]byte{}, err
		}
	}
	h := sha256.New()
	var buf []byte
	for _, v := range vals {
		var err error
		if buf, err = enc(buf[:0], v); err != nil {
			return "", [sha256.Size]byte{}, err
		}
		h.Write(buf)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return string(key), sum, nil
}

// showKey renders a key made by digest for a message: its values, comma separated.
func showKey(key string) string {
	b := []byte(key)
	var parts []string
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		switch tag {
		case 0:
			parts = append(parts, "NULL")
		case 1:
			if len(b) < 8 {
				return "?"
			}
			parts = append(parts, fmt.Sprint(int64(binary.BigEndian.Uint64(b))))
			b = b[8:]
		case 2:
			if len(b) < 8 {
				return "?"
			}
			n := binary.BigEndian.Uint64(b)
			b = b[8:]
			if uint64(len(b)) < n {
				return "?"
			}
			parts = append(parts, fmt.Sprintf("%q", b[:n]))
			b = b[n:]
		default:
			return "?"
		}
	}
	return strings.Join(parts, ", ")
}
