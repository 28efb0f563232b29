package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrLimited is what a *LimitError matches with errors.Is: Insert refused a job because of a limit of its
// guild (nothing was written).
var ErrLimited = errors.New("store: limit reached")

// The limits a LimitError names (LimitError.Limit), as /config limits names its options.
const (
	LimitConcurrentPerUser    = "concurrent_per_user"
	LimitRendersPerUserPerDay = "renders_per_user_per_day"
	LimitCooldown             = "cooldown_seconds"
	LimitGuildRendersPerDay   = "guild_renders_per_day"
)

// LimitError is Insert's refusal of a job that would go past a limit of its guild.
type LimitError struct {
	Limit   string    // one of the Limit… constants
	Max     int       // the limit (seconds for the cooldown)
	RetryAt time.Time // when the member may try again (UTC); zero for LimitConcurrentPerUser: when one of theirs ends
}

func (e *LimitError) Error() string {
	if e.RetryAt.IsZero() {
		return fmt.Sprintf("store: limit reached: %s %d", e.Limit, e.Max)
	}
	return fmt.Sprintf("store: limit reached: %s %d, until %s", e.Limit, e.Max, e.RetryAt.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimited }

// countedJob is the SQL condition of the jobs that count toward the per-day limits and the cooldown:
// every job that was or may have been sent to Viggle, or is still waiting to be, i.e. all but those that
// ended without reaching Viggle. The engine (jobs/steps.go) sets submitted_at only when Viggle accepted
// the POST, and ends a job that never reached Viggle failed or cancelled with submitted_at still NULL: a
// queued job cancelled (CANCELLED_BEFORE_SEND) or never acknowledged (NOT_ACKNOWLEDGED), a POST not sent
// (NOT_SENT), a POST Viggle refused with one of its own 4xx answers (nothing created), a key that could
// not be used. A job whose POST's outcome is unknown ends interrupted, also with submitted_at NULL: it may
// have been charged, so it counts. Jobs queued, submitting or running count too.
const countedJob = `NOT ((state = 'failed' OR state = 'cancelled') AND submitted_at IS NULL)`

// activeStates is the SQL list of the states of a job in progress (concurrent_per_user), as in the
// condition of the index jobs_active_idx.
const activeStates = `('queued', 'submitting', 'running')`

// limitChecker checks the limits of the jobs of one group commit, in its transaction: it reads each
// guild's limits once (the transaction holds the write lock: they cannot change meanwhile), with the
// statements the DB prepared at Open.
type limitChecker struct {
	tx                       *sql.Tx
	db                       *insertStmts
	limits                   map[string]Limits
	settings, counts, recent *sql.Stmt // tx's, taken from db when first needed
}

func newLimitChecker(tx *sql.Tx, db *insertStmts) *limitChecker {
	return &limitChecker{tx: tx, db: db, limits: make(map[string]Limits)}
}

// close releases the transaction's statements (not the DB's).
func (lc *limitChecker) close() {
	for _, s := range []*sql.Stmt{lc.settings, lc.counts, lc.recent} {
		if s != nil {
			_ = s.Close()
		}
	}
}

// stmt returns *mine, the transaction's statement for the DB's, taking it when first needed.
func (lc *limitChecker) stmt(ctx context.Context, mine **sql.Stmt, db *sql.Stmt) *sql.Stmt {
	if *mine == nil {
		*mine = lc.tx.StmtContext(ctx, db)
	}
	return *mine
}

// limitsSQL reads a guild's limits.
const limitsSQL = `SELECT concurrent_per_user, renders_per_user_per_day, cooldown_seconds, guild_renders_per_day
	FROM guild_settings WHERE guild_id = ?`

// limitsOf returns the guild's limits.
func (lc *limitChecker) limitsOf(ctx context.Context, guildID string) (Limits, error) {
	if l, ok := lc.limits[guildID]; ok {
		return l, nil
	}
	var (
		l        Limits
		cooldown int64
	)
	err := lc.stmt(ctx, &lc.settings, lc.db.limits).QueryRowContext(ctx, guildID).Scan(&l.ConcurrentPerUser, &l.RendersPerUserPerDay, &cooldown, &l.GuildRendersPerDay)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Limits{}, fmt.Errorf("read the limits of guild %s: %w", guildID, err)
	default:
		l.Cooldown = time.Duration(cooldown) * time.Second
	}
	lc.limits[guildID] = l
	return l, nil
}

// limitCheck is what a check needs of the job to insert.
type limitCheck struct {
	origin       Origin
	guild, owner string
	at           time.Time // the job's CreatedAt: "now" for its limits
}

// countsSQL reads, in one statement, what the limits of a job of guild ?1, origin ?2, owner ?3 count:
// the guild's counted jobs of the day [?4, ?5) when ?6 (its limit) is set, the member's when ?7 is, the
// member's jobs in progress when ?8 is (NULL for a limit not set: its part is not run). Each part is a
// range of one index (TestLimitPlans): jobs_guild_created_idx (covering: about 15 ns an entry),
// jobs_owner_created_idx, jobs_active_idx. The counts are not cut at the limit with a LIMIT: a bound
// LIMIT, like MAX(), makes SQLite's statement several times slower (BenchmarkInsert), more than the
// entries past a limit cost (a day's jobs past its limit exist only when the limit was lowered).
const countsSQL = `SELECT
	CASE WHEN ?6 > 0 THEN (SELECT COUNT(*) FROM jobs
		WHERE guild_id = ?1 AND created_at >= ?4 AND created_at < ?5 AND ` + countedJob + `) END,
	CASE WHEN ?7 > 0 THEN (SELECT COUNT(*) FROM jobs
		WHERE origin = ?2 AND guild_id = ?1 AND owner_id = ?3 AND created_at >= ?4 AND created_at < ?5 AND ` + countedJob + `) END,
	CASE WHEN ?8 > 0 THEN (SELECT COUNT(*) FROM jobs
		WHERE guild_id = ?1 AND owner_id = ?3 AND state IN ` + activeStates + `) END`

// recentSQL selects the created_at of the member's counted jobs created after ?4 (the cooldown's window:
// a row or none, as the cooldown allows no more), through jobs_owner_created_idx.
const recentSQL = `SELECT created_at FROM jobs
	WHERE origin = ?2 AND guild_id = ?1 AND owner_id = ?3 AND created_at > ?4 AND ` + countedJob

// check returns a *LimitError when inserting the job c describes would go past one of the limits of its
// guild, counting the rows the transaction sees (those committed, and those inserted earlier in it: the
// rows of one group commit see each other). It runs inside the insert's transaction, which holds
// SQLite's write lock from its start (BEGIN IMMEDIATE), so no other insert, of this process or
// another, can come in between the count and the insert.
//
// Days are UTC days: [c.at truncated to its UTC day, +24h). The limits are checked in this order, and
// the first one reached is returned: the guild's renders of the day, the member's renders of the day
// (both RetryAt the next UTC midnight), the member's renders in progress (RetryAt zero: when one ends),
// then the cooldown, which looks back across midnight: the member's latest counted job created less
// than Cooldown before c.at (RetryAt: its created_at + Cooldown).
func (lc *limitChecker) check(ctx context.Context, c limitCheck) error {
	l, err := lc.limitsOf(ctx, c.guild)
	if err != nil || l == (Limits{}) {
		return err
	}
	day := utcDay(c.at)
	next := day.Add(24 * time.Hour)
	if l.GuildRendersPerDay > 0 || l.RendersPerUserPerDay > 0 || l.ConcurrentPerUser > 0 {
		var guildDay, memberDay, active sql.NullInt64
		if err := lc.stmt(ctx, &lc.counts, lc.db.counts).QueryRowContext(ctx, c.guild, c.origin, c.owner, day.UnixMilli(), next.UnixMilli(),
			l.GuildRendersPerDay, l.RendersPerUserPerDay, l.ConcurrentPerUser).
			Scan(&guildDay, &memberDay, &active); err != nil {
			return fmt.Errorf("count the jobs of guild %s and member %s: %w", c.guild, c.owner, err)
		}
		switch {
		case l.GuildRendersPerDay > 0 && guildDay.Int64 >= int64(l.GuildRendersPerDay):
			return &LimitError{Limit: LimitGuildRendersPerDay, Max: l.GuildRendersPerDay, RetryAt: next}
		case l.RendersPerUserPerDay > 0 && memberDay.Int64 >= int64(l.RendersPerUserPerDay):
			return &LimitError{Limit: LimitRendersPerUserPerDay, Max: l.RendersPerUserPerDay, RetryAt: next}
		case l.ConcurrentPerUser > 0 && active.Int64 >= int64(l.ConcurrentPerUser):
			return &LimitError{Limit: LimitConcurrentPerUser, Max: l.ConcurrentPerUser}
		}
	}
	if l.Cooldown > 0 {
		latest, err := lc.latest(ctx, c, c.at.Add(-l.Cooldown))
		if err != nil {
			return err
		}
		if retry := latest.Add(l.Cooldown); !latest.IsZero() && retry.After(c.at) {
			return &LimitError{Limit: LimitCooldown, Max: int(l.Cooldown / time.Second), RetryAt: retry}
		}
	}
	return nil
}

// latest returns the created_at of the member's latest counted job created after since (zero: none).
func (lc *limitChecker) latest(ctx context.Context, c limitCheck, since time.Time) (time.Time, error) {
	rows, err := lc.stmt(ctx, &lc.recent, lc.db.recent).QueryContext(ctx, c.guild, c.origin, c.owner, since.UnixMilli())
	if err != nil {
		return time.Time{}, fmt.Errorf("read the latest jobs of member %s: %w", c.owner, err)
	}
	defer rows.Close()
	var latest int64
	found := false
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return time.Time{}, fmt.Errorf("read the latest jobs of member %s: %w", c.owner, err)
		}
		if !found || at > latest {
			latest, found = at, true
		}
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, fmt.Errorf("read the latest jobs of member %s: %w", c.owner, err)
	}
	if !found {
		return time.Time{}, nil
	}
	return time.UnixMilli(latest).UTC(), nil
}

// utcDay is the start (UTC midnight) of t's UTC day: the limits' and /stats' days are UTC days.
func utcDay(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}
