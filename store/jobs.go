package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
)

// jobColumns lists the columns read by scanJob, in its order.
const jobColumns = `id, origin, owner_id, guild_id, channel_id, interaction_id, interaction_token,
	token_expires_at, upload_limit, target, scene_id, mapping, background, bg_color, fast, model,
	viggle_job_id, state, viggle_status, progress, stage, video_url, mask_url, video_size, mask_size,
	error_code, error_message, created_at, acknowledged_at, submitted_at, completed_at, delivered_at,
	closed_at, updated_at, delivery, attempts, poll_failures, cancel_requested_at, cancel_requested_by,
	lease_owner, lease_expires_at, retry_of, followed_up_at, estimated_credits, key_ref`

// pairJSON is one element of the mapping column.
type pairJSON struct {
	Person    string `json:"person"`
	Character string `json:"character"`
}

func encodeMapping(pairs []spec.Pair) (string, error) {
	out := make([]pairJSON, len(pairs))
	for i, p := range pairs {
		out[i] = pairJSON{Person: p.Person, Character: p.Character}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeMapping(s string) ([]spec.Pair, error) {
	var in []pairJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]spec.Pair, len(in))
	for i, p := range in {
		out[i] = spec.Pair{Person: p.Person, Character: p.Character}
	}
	return out, nil
}

// millis converts a time for a nullable column: NULL for the zero time.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// millisOrZero converts a time for a NOT NULL column where 0 means unset.
func millisOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis and millisOrZero.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// nullString stores "" as NULL, for the UNIQUE columns that are unknown for some jobs.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanJob reads one row selected with jobColumns.
func scanJob(s scanner) (*Job, error) {
	var (
		j                                                  Job
		interactionID, viggleJobID, retryOf                sql.NullString
		mapping, delivery                                  string
		followedUp                                         sql.NullInt64
		tokenExp, created, acked, submitted, completed     sql.NullInt64
		delivered, closed, updated, cancelAt, leaseExpires sql.NullInt64
	)
	err := s.Scan(
		&j.ID, &j.Origin, &j.OwnerID, &j.GuildID, &j.ChannelID, &interactionID, &j.InteractionToken,
		&tokenExp, &j.UploadLimit, &j.Target, &j.Request.SceneID, &mapping, &j.Request.Background,
		&j.Request.BGColor, &j.Request.Fast, &j.Request.Model,
		&viggleJobID, &j.State, &j.ViggleStatus, &j.Progress, &j.Stage, &j.VideoURL, &j.MaskURL,
		&j.VideoSize, &j.MaskSize, &j.ErrorCode, &j.ErrorMessage,
		&created, &acked, &submitted, &completed, &delivered, &closed, &updated,
		&delivery, &j.Attempts, &j.PollFailures, &cancelAt, &j.CancelRequestedBy,
		&j.LeaseOwner, &leaseExpires, &retryOf, &followedUp, &j.EstimatedCredits, &j.KeyRef,
	)
	if err != nil {
		return nil, err
	}
	j.RetryOf = retryOf.String
	j.InteractionID = interactionID.String
	j.ViggleJobID = viggleJobID.String
	if j.Request.Mapping, err = decodeMapping(mapping); err != nil {
		return nil, fmt.Errorf("job %s: decode mapping: %w", j.ID, err)
	}
	j.TokenExpiresAt = fromMillis(tokenExp)
	j.CreatedAt = fromMillis(created)
	j.AcknowledgedAt = fromMillis(acked)
	j.SubmittedAt = fromMillis(submitted)
	j.CompletedAt = fromMillis(completed)
	j.DeliveredAt = fromMillis(delivered)
	j.ClosedAt = fromMillis(closed)
	j.UpdatedAt = fromMillis(updated)
	j.CancelRequestedAt = fromMillis(cancelAt)
	j.LeaseExpiresAt = fromMillis(leaseExpires)
	j.FollowedUpAt = fromMillis(followedUp)
	j.Delivery = ParseDelivery(delivery)
	return &j, nil
}

// Insert writes a new job row. An empty State means StateQueued; other valid states are
// accepted so tests can seed rows. Zero CreatedAt and UpdatedAt are set to now (and written back
// to j). It returns ErrDuplicate when the id or the interaction id already exists.
//
// A job with a GuildID is checked against its guild's limits (GuildSettings.Limits) in the transaction
// that inserts it, with its CreatedAt as "now" (see checkLimits for what counts): past one, nothing is
// written and Insert returns a *LimitError (errors.Is(err, ErrLimited)). No number of simultaneous
// inserts, in this process or others, can go past a limit.
func (db *DB) Insert(ctx context.Context, j *Job) error {
	if j.ID == "" {
		return errors.New("store: insert job: empty id")
	}
	if j.State == "" {
		j.State = StateQueued
	}
	if !j.Origin.Valid() {
		return fmt.Errorf("store: insert job %s: invalid origin %q", j.ID, j.Origin)
	}
	if !j.State.Valid() {
		return fmt.Errorf("store: insert job %s: invalid state %q", j.ID, j.State)
	}
	mapping, err := encodeMapping(j.Request.Mapping)
	if err != nil {
		return fmt.Errorf("store: insert job %s: encode mapping: %w", j.ID, err)
	}
	now := db.now()
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = now
	}
	req := &insertReq{args: []any{
		j.ID, j.Origin, j.OwnerID, j.GuildID, j.ChannelID, nullString(j.InteractionID), j.InteractionToken,
		millis(j.TokenExpiresAt), j.UploadLimit, j.Target, j.Request.SceneID, mapping, j.Request.Background,
		j.Request.BGColor, j.Request.Fast, j.Request.Model,
		nullString(j.ViggleJobID), j.State, j.ViggleStatus, j.Progress, j.Stage, j.VideoURL, j.MaskURL,
		j.VideoSize, j.MaskSize, j.ErrorCode, j.ErrorMessage,
		millis(j.CreatedAt), millis(j.AcknowledgedAt), millis(j.SubmittedAt), millis(j.CompletedAt),
		millis(j.DeliveredAt), millis(j.ClosedAt), millis(j.UpdatedAt),
		j.Delivery.encode(), j.Attempts, j.PollFailures, millis(j.CancelRequestedAt), j.CancelRequestedBy,
		j.LeaseOwner, millisOrZero(j.LeaseExpiresAt), nullString(j.RetryOf), millis(j.FollowedUpAt),
		j.EstimatedCredits, j.KeyRef,
	}, done: make(chan error, 1)}
	if j.GuildID != "" {
		req.limit = &limitCheck{origin: j.Origin, guild: j.GuildID, owner: j.OwnerID, at: j.CreatedAt}
	}
	if err := db.insertGrouped(ctx, req); err != nil {
		if isUnique(err) || errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("store: insert job %s: %w", j.ID, ErrDuplicate)
		}
		return fmt.Errorf("store: insert job %s: %w", j.ID, err)
	}
	return nil
}

// insertReq is one row waiting to be inserted, and where its outcome goes.
type insertReq struct {
	args     []any
	limit    *limitCheck // nil: no guild, no limits
	done     chan error
	deadline time.Time // the caller's; zero when none
}

// wait returns the outcome of req, or the caller's ctx error if that comes first (the row may then
// still be committed by the batch it is in: for a Discord job, one that is never acknowledged, which
// the engine closes without sending).
func (req *insertReq) wait(ctx context.Context) error {
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// insertSQL inserts every column of jobColumns (one placeholder each, counted from the list). A row
// whose id, interaction id or retry_of is taken is not inserted (no row changed: a duplicate), which
// leaves the transaction usable on both engines (in PostgreSQL a failed statement would abort it).
var insertSQL = `INSERT INTO jobs (` + jobColumns + `) VALUES (` +
	strings.TrimSuffix(strings.Repeat("?, ", strings.Count(jobColumns, ",")+1), ", ") + `) ON CONFLICT DO NOTHING`

// insertGrouped commits req together with every other insert waiting at the same time (group commit):
// one transaction and one fsync for a burst of /render commands instead of one each; a duplicate or a
// job past a limit of its guild fails alone. Inserts take the connection before the engine's work.
func (db *DB) insertGrouped(ctx context.Context, req *insertReq) error {
	req.deadline, _ = ctx.Deadline()
	db.pmu.Lock()
	db.pending = append(db.pending, req)
	db.pmu.Unlock()
	if err := db.gate.lock(ctx, true); err != nil {
		db.pmu.Lock()
		for i, r := range db.pending {
			if r == req { // not taken by another batch: give up
				db.pending = append(db.pending[:i], db.pending[i+1:]...)
				db.pmu.Unlock()
				return err
			}
		}
		db.pmu.Unlock()
		return req.wait(ctx) // in a batch being committed right now
	}
	defer db.gate.unlock()
	select {
	case err := <-req.done: // committed by an earlier batch
		return err
	default:
	}
	db.pmu.Lock()
	batch := db.pending
	db.pending = nil
	db.pmu.Unlock()
	// The batch holds other callers' rows: it runs to the earliest of their deadlines (not past it: a
	// row committed after its caller gave up would be a job nobody acknowledged), whatever this
	// caller's own context does meanwhile.
	deadline := time.Now().Add(10 * time.Second)
	for _, r := range batch {
		if !r.deadline.IsZero() && r.deadline.Before(deadline) {
			deadline = r.deadline
		}
	}
	bctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	// SQLite waits for another process's write lock in its busy handler, which a cancelled context
	// does not interrupt: shorten that wait to the deadline for this batch (the gate gives us the only
	// connection, so the setting is ours alone until restored).
	if ms := time.Until(deadline).Milliseconds(); ms < busyTimeoutMS && !db.pg {
		if _, err := db.sql.ExecContext(bctx, fmt.Sprintf("PRAGMA busy_timeout = %d", max(ms, 1))); err == nil {
			defer db.sql.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeoutMS))
		}
	}
	errs := make([]error, len(batch))
	err := db.inTx(bctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(bctx, db.stmts.insert)
		defer stmt.Close()
		if db.pg {
			if err := lockGuilds(bctx, tx, batchGuilds(batch)); err != nil {
				return err
			}
		}
		limits := newLimitChecker(tx, &db.stmts)
		defer limits.close()
		for i, r := range batch {
			if r.limit != nil {
				// The counts see the rows inserted before this one in the batch.
				var le *LimitError
				switch err := limits.check(bctx, *r.limit); {
				case errors.As(err, &le):
					errs[i] = le
					continue
				case err != nil:
					return err
				}
			}
			res, err := stmt.ExecContext(bctx, r.args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				errs[i] = ErrDuplicate
			}
		}
		return nil
	})
	for i, r := range batch {
		var le *LimitError
		if err != nil && (errs[i] == nil || errors.As(errs[i], &le)) {
			errs[i] = err // a limit counted rows that were not committed after all
		}
		r.done <- errs[i]
	}
	return <-req.done
}

// batchGuilds returns the guilds whose limits the batch checks, sorted and each once.
func batchGuilds(batch []*insertReq) []string {
	var guilds []string
	for _, r := range batch {
		if r.limit != nil {
			guilds = append(guilds, r.limit.guild)
		}
	}
	slices.Sort(guilds)
	return slices.Compact(guilds)
}

// Get returns the job with the given id, or ErrNotFound.
func (db *DB) Get(ctx context.Context, id string) (*Job, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: Get: %w", err)
	}
	defer db.gate.unlock()
	j, err := scanJob(db.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: get job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get job %s: %w", id, err)
	}
	return j, nil
}

// Claim takes the job's lease for owner until `until` when the lease is free, already owner's,
// expired (lease_expires_at <= now), or held by takeover (when non-empty: a holder the caller
// has determined is dead). It returns the updated row; ErrLeased (with the holder named in the
// message) when another live holder has it; ErrNotFound.
func (db *DB) Claim(ctx context.Context, id, owner string, now, until time.Time, takeover string) (*Job, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: Claim: %w", err)
	}
	defer db.gate.unlock()
	if owner == "" {
		return nil, fmt.Errorf("store: claim job %s: empty lease owner", id)
	}
	var j *Job
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs
			SET lease_owner = ?, lease_expires_at = ?, updated_at = ?
			WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_expires_at <= ?
				OR (? <> '' AND lease_owner = ?))
			RETURNING `+jobColumns,
			owner, millisOrZero(until), db.now().UnixMilli(),
			id, owner, millisOrZero(now), takeover, takeover))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var holder string
		var expires int64
		err = tx.QueryRowContext(ctx, `SELECT lease_owner, lease_expires_at FROM jobs WHERE id = ?`, id).
			Scan(&holder, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("held by %q until %s: %w", holder,
			time.UnixMilli(expires).UTC().Format(time.RFC3339Nano), ErrLeased)
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim job %s: %w", id, err)
	}
	return j, nil
}

// Release clears the job's lease if owner holds it; otherwise it does nothing.
func (db *DB) Release(ctx context.Context, id, owner string) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return fmt.Errorf("store: Release: %w", err)
	}
	defer db.gate.unlock()
	_, err := db.sql.ExecContext(ctx, `UPDATE jobs SET lease_owner = '', lease_expires_at = 0, updated_at = ?
		WHERE id = ? AND lease_owner = ? AND lease_owner <> ''`, db.now().UnixMilli(), id, owner)
	if err != nil {
		return fmt.Errorf("store: release job %s: %w", id, err)
	}
	return nil
}

// Update writes the engine-owned columns of j (state, viggle_job_id, viggle_status, progress,
// stage, video and mask URLs and sizes, error code and message, the acknowledged/submitted/
// completed/delivered/closed/followed-up times, delivery, attempts, poll_failures, lease_expires_at, and
// updated_at = now) in one conditional statement that matches only while the row is still in
// state from and leased by j.LeaseOwner. It returns ErrBadTransition when from → j.State is not
// allowed and ErrConflict when the row no longer matches (or does not exist).
//
// It never writes the request columns, key_ref or cancel_requested_*. acknowledged_at, once set, is
// kept (Acknowledge may run concurrently). On success j.UpdatedAt, j.AcknowledgedAt and
// j.CancelRequestedAt/By are refreshed from the row, so the caller sees a pending cancel request
// without another read.
func (db *DB) Update(ctx context.Context, j *Job, from State) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return fmt.Errorf("store: Update: %w", err)
	}
	defer db.gate.unlock()
	if !CanTransition(from, j.State) {
		return fmt.Errorf("store: update job %s: %s -> %s: %w", j.ID, from, j.State, ErrBadTransition)
	}
	now := db.now().UnixMilli()
	var acked, cancelAt, updated sql.NullInt64
	var cancelBy string
	err := db.sql.QueryRowContext(ctx, `UPDATE jobs SET
			state = ?, viggle_job_id = ?, viggle_status = ?, progress = ?, stage = ?,
			video_url = ?, mask_url = ?, video_size = ?, mask_size = ?, error_code = ?, error_message = ?,
			acknowledged_at = COALESCE(acknowledged_at, ?), submitted_at = ?, completed_at = ?,
			delivered_at = ?, closed_at = ?, delivery = ?, attempts = ?, poll_failures = ?,
			lease_expires_at = ?, followed_up_at = ?, updated_at = ?
		WHERE id = ? AND state = ? AND lease_owner = ?
		RETURNING acknowledged_at, cancel_requested_at, cancel_requested_by, updated_at`,
		j.State, nullString(j.ViggleJobID), j.ViggleStatus, j.Progress, j.Stage,
		j.VideoURL, j.MaskURL, j.VideoSize, j.MaskSize, j.ErrorCode, j.ErrorMessage,
		millis(j.AcknowledgedAt), millis(j.SubmittedAt), millis(j.CompletedAt),
		millis(j.DeliveredAt), millis(j.ClosedAt), j.Delivery.encode(), j.Attempts, j.PollFailures,
		millisOrZero(j.LeaseExpiresAt), millis(j.FollowedUpAt), now,
		j.ID, from, j.LeaseOwner,
	).Scan(&acked, &cancelAt, &cancelBy, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: update job %s from %s: %w", j.ID, from, ErrConflict)
	case isUnique(err):
		return fmt.Errorf("store: update job %s: %w", j.ID, ErrDuplicate)
	case err != nil:
		return fmt.Errorf("store: update job %s: %w", j.ID, err)
	}
	j.AcknowledgedAt = fromMillis(acked)
	j.CancelRequestedAt = fromMillis(cancelAt)
	j.CancelRequestedBy = cancelBy
	j.UpdatedAt = fromMillis(updated)
	return nil
}

// RequestCancel records that userID asked to cancel the job at the given time. Only the first
// request is kept. It returns the row as it is afterwards (compare CancelRequestedBy to see
// whose request counted), or ErrNotFound.
func (db *DB) RequestCancel(ctx context.Context, id, userID string, at time.Time) (*Job, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: RequestCancel: %w", err)
	}
	defer db.gate.unlock()
	if at.IsZero() {
		return nil, fmt.Errorf("store: request cancel of job %s: zero time", id)
	}
	var j *Job
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs
			SET cancel_requested_at = ?, cancel_requested_by = ?, updated_at = ?
			WHERE id = ? AND cancel_requested_at IS NULL`,
			at.UnixMilli(), userID, db.now().UnixMilli(), id); err != nil {
			return err
		}
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: request cancel of job %s: %w", id, err)
	}
	return j, nil
}

// Acknowledge records when the job's request was acknowledged, unless it already was.
// It returns ErrNotFound for an unknown id.
func (db *DB) Acknowledge(ctx context.Context, id string, at time.Time) error {
	if err := db.gate.lock(ctx, false); err != nil {
		return fmt.Errorf("store: Acknowledge: %w", err)
	}
	defer db.gate.unlock()
	if at.IsZero() {
		return fmt.Errorf("store: acknowledge job %s: zero time", id)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET acknowledged_at = ?, updated_at = ?
			WHERE id = ? AND acknowledged_at IS NULL`, at.UnixMilli(), db.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: acknowledge job %s: %w", id, err)
	}
	return nil
}

// Unfinished returns the jobs of origin that are not closed (closed_at IS NULL), oldest first.
func (db *DB) Unfinished(ctx context.Context, origin Origin) ([]*Job, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: Unfinished: %w", err)
	}
	defer db.gate.unlock()
	jobs, err := db.query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE origin = ? AND closed_at IS NULL ORDER BY created_at, id`, origin)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished %s jobs: %w", origin, err)
	}
	return jobs, nil
}

// ListFilter selects one owner's jobs.
type ListFilter struct {
	Origin  Origin // required
	GuildID string // "" matches terminal jobs (guild_id '')
	OwnerID string // required: an empty OwnerID is an error, never "everyone"
	States  []State
	Limit   int // default 10, at most 100
	Offset  int
}

// Default and maximum ListFilter.Limit.
const (
	DefaultListLimit = 10
	MaxListLimit     = 100
)

// where returns the WHERE clause and its arguments for f.
func (f ListFilter) where() (string, []any, error) {
	if f.OwnerID == "" {
		return "", nil, errors.New("empty owner id")
	}
	if !f.Origin.Valid() {
		return "", nil, fmt.Errorf("invalid origin %q", f.Origin)
	}
	var b strings.Builder
	b.WriteString(`origin = ? AND guild_id = ? AND owner_id = ?`)
	args := []any{f.Origin, f.GuildID, f.OwnerID}
	if len(f.States) > 0 {
		b.WriteString(` AND state IN (?`)
		b.WriteString(strings.Repeat(`, ?`, len(f.States)-1))
		b.WriteString(`)`)
		for _, s := range f.States {
			if !s.Valid() {
				return "", nil, fmt.Errorf("invalid state %q", s)
			}
			args = append(args, s)
		}
	}
	return b.String(), args, nil
}

// ListByOwner returns the owner's jobs matching f, newest first (created_at, then id,
// descending). A zero Limit means DefaultListLimit; larger limits are capped at MaxListLimit.
func (db *DB) ListByOwner(ctx context.Context, f ListFilter) ([]*Job, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: ListByOwner: %w", err)
	}
	defer db.gate.unlock()
	where, args, err := f.where()
	if err == nil && (f.Limit < 0 || f.Offset < 0) {
		err = fmt.Errorf("negative limit %d or offset %d", f.Limit, f.Offset)
	}
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	jobs, err := db.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+where+`
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, f.Offset)...)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs of %s: %w", f.OwnerID, err)
	}
	return jobs, nil
}

// CountByOwner counts the jobs ListByOwner would return without Limit and Offset.
func (db *DB) CountByOwner(ctx context.Context, f ListFilter) (int, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return 0, fmt.Errorf("store: CountByOwner: %w", err)
	}
	defer db.gate.unlock()
	where, args, err := f.where()
	if err != nil {
		return 0, fmt.Errorf("store: count jobs: %w", err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count jobs of %s: %w", f.OwnerID, err)
	}
	return n, nil
}

// QueuePosition returns the 1-based position of the job among the jobs of origin that Viggle
// has accepted but not started (state running, viggle_status "queued" or still ""), ordered by
// creation; 0 when the job itself is not waiting in that queue (or is of another origin).
// It returns ErrNotFound for an unknown id.
func (db *DB) QueuePosition(ctx context.Context, origin Origin, id string) (int, error) {
	if err := db.gate.lock(ctx, false); err != nil {
		return 0, fmt.Errorf("store: QueuePosition: %w", err)
	}
	defer db.gate.unlock()
	var pos int
	err := db.sql.QueryRowContext(ctx, `SELECT CASE
			WHEN j.origin = ? AND j.state = 'running' AND j.viggle_status IN ('queued', '') THEN (
				SELECT COUNT(*) FROM jobs o
				WHERE o.origin = j.origin AND o.closed_at IS NULL AND o.created_at <= j.created_at
					AND o.state = 'running' AND o.viggle_status IN ('queued', '')
					AND (o.created_at < j.created_at OR o.id <= j.id))
			ELSE 0 END
		FROM jobs j WHERE j.id = ?`, origin, id).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: queue position of job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: queue position of job %s: %w", id, err)
	}
	return pos, nil
}

// query runs a SELECT of jobColumns and scans every row.
func (db *DB) query(ctx context.Context, query string, args ...any) ([]*Job, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return jobs, nil
}
