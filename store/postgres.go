package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/viggle-bot/viggle-bot/migrations"
)

// Backend names the database engine of a DB.
type Backend string

// The backends.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Backend returns the engine this DB runs on.
func (db *DB) Backend() Backend {
	if db.pg {
		return Postgres
	}
	return SQLite
}

// postgresConns is how many connections one process keeps to PostgreSQL. The store's gate still lets one
// statement or transaction run at a time (see gate.go), as with SQLite, so that the two backends behave
// alike (BENCHMARKS.md measures what that costs); the second connection serves DB.SQL()'s callers
// (check, tests) beside it. The migrations run on a pool of their own, before this one opens.
const postgresConns = 2

// OpenPostgres opens the PostgreSQL database at databaseURL (postgres://user:pass@host:5432/db?sslmode=…,
// through jackc/pgx/v5's database/sql driver), applies pending migrations (migrations.PostgresFS) under
// goose's advisory lock, so that processes starting together take turns, and returns a DB that runs the
// same queries as a SQLite one. No error it returns holds the password.
//
// Several processes may share the database: a job's lease (Claim) is one conditional UPDATE, which
// PostgreSQL's row lock makes atomic across processes, and the limits are checked under a transaction-level
// advisory lock per guild (insertGrouped).
func OpenPostgres(ctx context.Context, databaseURL string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	shown := RedactURL(databaseURL)
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %s", shown, redact(err.Error(), databaseURL))
	}
	password := cfg.Password
	wrap := func(err error) error {
		return fmt.Errorf("store: open %s: %s", shown, redact(err.Error(), password))
	}
	plain := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer plain.Close()
	if err := plain.PingContext(ctx); err != nil {
		return nil, wrap(err)
	}
	if err := migratePostgres(ctx, plain, log); err != nil {
		return nil, wrap(err)
	}
	sqldb := sql.OpenDB(qmarkConnector{stdlib.GetConnector(*cfg)})
	sqldb.SetMaxOpenConns(postgresConns)
	sqldb.SetMaxIdleConns(postgresConns)
	db := &DB{sql: sqldb, log: log, now: time.Now, pg: true}
	if err := db.prepareStmts(ctx); err != nil {
		sqldb.Close()
		return nil, wrap(err)
	}
	return db, nil
}

// migratePostgres applies the PostgreSQL migrations, holding goose's session advisory lock meanwhile
// (processes opening one database at once take turns; a crashed holder's lock ends with its session).
func migratePostgres(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 120)) // up to 2 min of another's migrations
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return up(ctx, log, goose.DialectPostgres, db, migrations.PostgresFS, "postgres/", goose.WithSessionLocker(locker))
}

// RedactURL returns a database URL fit for a log line or a message: the password, if any, is replaced
// by "xxxxx". A string that does not parse as a URL is replaced whole, as it might be a key=value
// connection string with a password in it.
func RedactURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return "(a database connection string)"
	}
	return u.Redacted()
}

// redact removes secret from s (an error message from the driver, which may quote what it was given).
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, secret, "xxxxx")
	if esc := url.UserPassword("", secret).String(); len(esc) > 1 {
		s = strings.ReplaceAll(s, strings.TrimPrefix(esc, ":"), "xxxxx") // its percent-escaped form
	}
	return s
}

// lockGuilds takes, in the insert's transaction, PostgreSQL's transaction-level advisory lock of each
// guild (in a fixed order, so that two processes' batches cannot deadlock): a guild's limits are counted
// and its job inserted by one transaction at a time, whatever process runs it, and each count (a new
// statement, a new snapshot under READ COMMITTED) sees the rows the previous holder committed. SQLite
// needs none of this: its immediate transaction holds the whole database's write lock.
func lockGuilds(ctx context.Context, tx *sql.Tx, guilds []string) error {
	for _, g := range guilds {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 1046))`, "guild:"+g); err != nil {
			return fmt.Errorf("lock the limits of guild %s: %w", g, err)
		}
	}
	return nil
}

// isPostgresUnique reports whether err is PostgreSQL's unique_violation.
func isPostgresUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// qmarkConnector opens pgx connections that take the store's SQLite-style placeholders: "?" (numbered
// in order) and "?N" become PostgreSQL's "$N", and Go bools become 0/1 (the schema keeps booleans as
// integers, as SQLite does), so one set of queries runs on both engines. SQLite's "INDEXED BY name"
// hints, which pin the plans the suggest queries were measured with, are dropped: PostgreSQL's planner
// takes no hints. A driver wrapper rather than a
// rewrite at every call: the queries of tests and benchmarks, through DB.SQL(), run on both unchanged.
type qmarkConnector struct{ driver.Connector }

func (c qmarkConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return qmarkConn{conn.(*stdlib.Conn)}, nil
}

// qmarkConn forwards every interface of pgx's connection that database/sql uses, rewriting queries.
type qmarkConn struct{ c *stdlib.Conn }

var (
	_ driver.ConnPrepareContext = qmarkConn{}
	_ driver.ConnBeginTx        = qmarkConn{}
	_ driver.ExecerContext      = qmarkConn{}
	_ driver.QueryerContext     = qmarkConn{}
	_ driver.Pinger             = qmarkConn{}
	_ driver.NamedValueChecker  = qmarkConn{}
	_ driver.SessionResetter    = qmarkConn{}
)

func (q qmarkConn) Prepare(query string) (driver.Stmt, error) { return q.c.Prepare(rebind(query)) }
func (q qmarkConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return q.c.PrepareContext(ctx, rebind(query))
}
func (q qmarkConn) Close() error { return q.c.Close() }
func (q qmarkConn) Begin() (driver.Tx, error) {
	return q.c.BeginTx(context.Background(), driver.TxOptions{})
}
func (q qmarkConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return q.c.BeginTx(ctx, opts)
}
func (q qmarkConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return q.c.ExecContext(ctx, rebind(query), args)
}
func (q qmarkConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return q.c.QueryContext(ctx, rebind(query), args)
}
func (q qmarkConn) Ping(ctx context.Context) error              { return q.c.Ping(ctx) }
func (q qmarkConn) ResetSession(ctx context.Context) error      { return q.c.ResetSession(ctx) }
func (q qmarkConn) CheckNamedValue(nv *driver.NamedValue) error { return checkValue(nv) }

// checkValue converts an argument as database/sql does for drivers without a checker (named string and
// integer types to their base types), and a bool to 0 or 1; pgx takes the rest (Valuers, []byte) itself.
func checkValue(nv *driver.NamedValue) error {
	if _, ok := nv.Value.(driver.Valuer); !ok {
		v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
		if err != nil {
			return err
		}
		nv.Value = v
	}
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
	}
	return nil
}

var indexedBy = regexp.MustCompile(`(?i)\sINDEXED\s+BY\s+\w+\s`)

var rebound sync.Map // query → rewritten query: the store's queries are a fixed set

// rebind rewrites "?" and "?N" placeholders outside quotes and comments into "$N".
func rebind(query string) string {
	if !strings.Contains(query, "?") && !strings.Contains(query, "INDEXED BY") {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	q := indexedBy.ReplaceAllString(b.String(), " ")
	rebound.Store(query, q)
	return q
}
