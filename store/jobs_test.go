package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/spec"
)

// ms returns the UTC time n milliseconds after the epoch, as the store reads it back.
func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

// testJob returns a minimal valid queued job.
func testJob(id string, origin Origin, owner, guild string, created time.Time) *Job {
	j := &Job{
		ID:        id,
		Origin:    origin,
		OwnerID:   owner,
		GuildID:   guild,
		CreatedAt: created,
		UpdatedAt: created,
		Request: spec.Request{
			SceneID: "scene-" + id,
			Mapping: []spec.Pair{{Person: "p1", Character: "c1"}},
		},
	}
	if origin == OriginDiscord {
		j.InteractionID = "ix-" + id
		j.InteractionToken = "tok-" + id
	}
	return j
}

func insert(tb testing.TB, db *DB, jobs ...*Job) {
	tb.Helper()
	for _, j := range jobs {
		if err := db.Insert(tb.Context(), j); err != nil {
			tb.Fatalf("Insert(%s): %v", j.ID, err)
		}
	}
}

func get(tb testing.TB, db *DB, id string) *Job {
	tb.Helper()
	j, err := db.Get(tb.Context(), id)
	if err != nil {
		tb.Fatalf("Get(%s): %v", id, err)
	}
	return j
}

// fixClock makes db.now return t.
func fixClock(db *DB, t time.Time) { db.now = func() time.Time { return t } }

func ids(jobs []*Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func TestInsertGetRoundTrip(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	full := &Job{
		ID:               "job-full",
		Origin:           OriginDiscord,
		OwnerID:          "user-1",
		GuildID:          "guild-1",
		ChannelID:        "chan-1",
		InteractionID:    "ix-1",
		InteractionToken: "secret-token",
		TokenExpiresAt:   ms(1_700_000_900_000),
		UploadLimit:      25 << 20,
		Target:           "target",
		Request: spec.Request{
			SceneID: "scene-1",
			Mapping: []spec.Pair{
				{Person: "z", Character: "c3"},
				{Person: "a", Character: "c1"},
				{Person: "m", Character: "c2"},
			},
			Background: "solid",
			BGColor:    "0,255,0",
			Fast:       true,
			Model:      "V4_Preview",
		},
		ViggleJobID:       "vj-1",
		State:             StateDelivering,
		ViggleStatus:      "complete",
		Progress:          100,
		Stage:             "render_done",
		VideoURL:          "https://cdn.example/v.mp4",
		MaskURL:           "https://cdn.example/m.mp4",
		VideoSize:         123456,
		MaskSize:          7890,
		ErrorCode:         "E1",
		ErrorMessage:      "something",
		CreatedAt:         ms(1_700_000_000_001),
		AcknowledgedAt:    ms(1_700_000_000_002),
		SubmittedAt:       ms(1_700_000_000_003),
		CompletedAt:       ms(1_700_000_000_004),
		DeliveredAt:       ms(1_700_000_000_005),
		ClosedAt:          ms(1_700_000_000_006),
		UpdatedAt:         ms(1_700_000_000_007),
		Delivery:          Delivery{Where: WhereDM, MessageID: "m-1", ChannelID: "dm-1", Link: true, Note: "n"},
		FollowedUpAt:      ms(1_700_000_000_010),
		Attempts:          2,
		PollFailures:      3,
		CancelRequestedAt: ms(1_700_000_000_008),
		CancelRequestedBy: "user-2",
		LeaseOwner:        "host:1",
		LeaseExpiresAt:    ms(1_700_000_000_009),
		RetryOf:           "jfailed001",
		EstimatedCredits:  12,
		KeyRef:            "key0000001",
	}
	// Every field must be set, so the test notices a column that is not written or read.
	v := reflect.ValueOf(*full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("test job leaves field %s zero", v.Type().Field(i).Name)
		}
	}
	minimal := &Job{ID: "job-min", Origin: OriginTerminal, OwnerID: "me",
		Request: spec.Request{SceneID: "s"}, CreatedAt: ms(5), UpdatedAt: ms(6)}
	insert(t, db, full, minimal)

	for _, want := range []*Job{full, minimal} {
		got := get(t, db, want.ID)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s):\n got %#v\nwant %#v\n%s", want.ID, *got, *want, diffFields(*got, *want))
		}
	}
	if got := minimal.State; got != StateQueued {
		t.Errorf("Insert with empty state stored %q, want %q", got, StateQueued)
	}

	// Zero times, empty interaction and Viggle ids are NULL in the table; the mapping is JSON.
	var nulls int
	var mapping, fullMapping string
	err := db.SQL().QueryRowContext(t.Context(), `SELECT
		CASE WHEN interaction_id IS NULL THEN 1 ELSE 0 END + CASE WHEN viggle_job_id IS NULL THEN 1 ELSE 0 END +
		CASE WHEN token_expires_at IS NULL THEN 1 ELSE 0 END + CASE WHEN acknowledged_at IS NULL THEN 1 ELSE 0 END +
		CASE WHEN submitted_at IS NULL THEN 1 ELSE 0 END + CASE WHEN completed_at IS NULL THEN 1 ELSE 0 END +
		CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END + CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END +
		CASE WHEN cancel_requested_at IS NULL THEN 1 ELSE 0 END + CASE WHEN lease_expires_at = 0 THEN 1 ELSE 0 END,
		mapping, (SELECT mapping FROM jobs WHERE id = 'job-full')
		FROM jobs WHERE id = 'job-min'`).Scan(&nulls, &mapping, &fullMapping)
	if err != nil {
		t.Fatal(err)
	}
	if nulls != 10 {
		t.Errorf("minimal job has %d of 10 unset columns NULL (or 0)", nulls)
	}
	if mapping != "[]" {
		t.Errorf("empty mapping stored as %q, want []", mapping)
	}
	wantJSON := `[{"person":"z","character":"c3"},{"person":"a","character":"c1"},{"person":"m","character":"c2"}]`
	if fullMapping != wantJSON {
		t.Errorf("mapping stored as %s, want %s", fullMapping, wantJSON)
	}
}

// diffFields names the fields that differ, to make round-trip failures readable.
func diffFields(a, b Job) string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: got %v, want %v", va.Type().Field(i).Name,
				va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	return strings.Join(out, "\n")
}

func TestInsertDefaultsTimes(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	fixClock(db, ms(42_000))
	j := testJob("j", OriginTerminal, "u", "", time.Time{})
	j.UpdatedAt = time.Time{}
	insert(t, db, j)
	got := get(t, db, "j")
	if !got.CreatedAt.Equal(ms(42_000)) || !got.UpdatedAt.Equal(ms(42_000)) {
		t.Errorf("created, updated = %v, %v; want both %v", got.CreatedAt, got.UpdatedAt, ms(42_000))
	}
	if !j.CreatedAt.Equal(ms(42_000)) {
		t.Errorf("Insert did not write CreatedAt back to the job: %v", j.CreatedAt)
	}
}

func TestInsertDuplicatesAndInvalid(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	insert(t, db,
		testJob("d1", OriginDiscord, "u", "g", ms(1)),
		// Terminal jobs have no interaction id: several are fine.
		testJob("t1", OriginTerminal, "u", "", ms(2)),
		testJob("t2", OriginTerminal, "u", "", ms(3)),
	)
	sameInteraction := testJob("d2", OriginDiscord, "u", "g", ms(4))
	sameInteraction.InteractionID = "ix-d1"
	sameID := testJob("t1", OriginTerminal, "u", "", ms(5))
	for _, j := range []*Job{sameInteraction, sameID} {
		if err := db.Insert(t.Context(), j); !errors.Is(err, ErrDuplicate) {
			t.Errorf("Insert(%s) = %v, want ErrDuplicate", j.ID, err)
		}
	}

	invalid := map[string]*Job{
		"empty id":   {Origin: OriginTerminal},
		"bad origin": {ID: "x1", Origin: "web"},
		"bad state":  {ID: "x2", Origin: OriginTerminal, State: "rendering"},
	}
	for name, j := range invalid {
		if err := db.Insert(t.Context(), j); err == nil || errors.Is(err, ErrDuplicate) {
			t.Errorf("Insert(%s) = %v, want a validation error", name, err)
		}
	}
	if _, err := db.Get(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	fixClock(db, ms(10_000))
	seed := testJob("j", OriginDiscord, "u", "g", ms(1))
	seed.LeaseOwner = "A"
	insert(t, db, seed)

	// A cancel request and an acknowledgement arrive while the engine holds its copy.
	j := get(t, db, "j")
	if _, err := db.RequestCancel(t.Context(), "j", "user-9", ms(500)); err != nil {
		t.Fatal(err)
	}
	if err := db.Acknowledge(t.Context(), "j", ms(400)); err != nil {
		t.Fatal(err)
	}

	j.State = StateSubmitting
	j.SubmittedAt = ms(600)
	j.Attempts = 1
	j.LeaseExpiresAt = ms(70_000)
	// Columns Update must never write:
	j.Request.SceneID = "changed"
	j.InteractionToken = "changed"
	j.OwnerID = "changed"
	if err := db.Update(t.Context(), j, StateQueued); err != nil {
		t.Fatalf("Update queued->submitting: %v", err)
	}
	if !j.UpdatedAt.Equal(ms(10_000)) {
		t.Errorf("j.UpdatedAt = %v, want %v", j.UpdatedAt, ms(10_000))
	}
	if j.CancelRequestedBy != "user-9" || !j.CancelRequestedAt.Equal(ms(500)) || !j.AcknowledgedAt.Equal(ms(400)) {
		t.Errorf("Update did not refresh cancel/ack from the row: %q %v %v",
			j.CancelRequestedBy, j.CancelRequestedAt, j.AcknowledgedAt)
	}
	got := get(t, db, "j")
	if got.State != StateSubmitting || !got.SubmittedAt.Equal(ms(600)) || got.Attempts != 1 ||
		!got.LeaseExpiresAt.Equal(ms(70_000)) || !got.UpdatedAt.Equal(ms(10_000)) {
		t.Errorf("after Update: %+v state=%s submitted=%v attempts=%d lease=%v updated=%v",
			got, got.State, got.SubmittedAt, got.Attempts, got.LeaseExpiresAt, got.UpdatedAt)
	}
	if got.Request.SceneID != "scene-j" || got.InteractionToken != "tok-j" || got.OwnerID != "u" {
		t.Errorf("Update wrote request/owner columns: scene=%q owner=%q", got.Request.SceneID, got.OwnerID)
	}
	if got.CancelRequestedBy != "user-9" || !got.AcknowledgedAt.Equal(ms(400)) {
		t.Errorf("Update overwrote cancel/ack: by=%q ack=%v", got.CancelRequestedBy, got.AcknowledgedAt)
	}

	// Same from-state again: the row has moved on.
	stale := *got
	stale.State = StateSubmitting
	if err := db.Update(t.Context(), &stale, StateQueued); !errors.Is(err, ErrConflict) {
		t.Errorf("Update from a stale state = %v, want ErrConflict", err)
	}
	// Right state, wrong lease owner.
	other := *got
	other.LeaseOwner = "B"
	other.State = StateRunning
	if err := db.Update(t.Context(), &other, StateSubmitting); !errors.Is(err, ErrConflict) {
		t.Errorf("Update by another lease owner = %v, want ErrConflict", err)
	}
	// Not allowed at all: checked before touching the row.
	bad := *got
	bad.State = StateDelivered
	if err := db.Update(t.Context(), &bad, StateSubmitting); !errors.Is(err, ErrBadTransition) {
		t.Errorf("Update submitting->delivered = %v, want ErrBadTransition", err)
	}
	if s := get(t, db, "j").State; s != StateSubmitting {
		t.Errorf("state after rejected updates = %s, want submitting", s)
	}
	// Unknown job.
	ghost := *got
	ghost.ID = "ghost"
	if err := db.Update(t.Context(), &ghost, StateSubmitting); !errors.Is(err, ErrConflict) {
		t.Errorf("Update of an unknown job = %v, want ErrConflict", err)
	}

	// A Viggle job id already used by another job.
	insert(t, db, func() *Job {
		o := testJob("o", OriginTerminal, "u", "", ms(2))
		o.State, o.ViggleJobID = StateRunning, "vj-1"
		return o
	}())
	dup := *got
	dup.State, dup.ViggleJobID = StateRunning, "vj-1"
	if err := db.Update(t.Context(), &dup, StateSubmitting); !errors.Is(err, ErrDuplicate) {
		t.Errorf("Update with a used viggle_job_id = %v, want ErrDuplicate", err)
	}
}

// TestUpdateConcurrent races several writers on the same transition: exactly one may win.
func TestUpdateConcurrent(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/bot.db"
	dbs := []*DB{openAt(t, path), openAt(t, path)} // two processes
	insert(t, dbs[0], testJob("j", OriginTerminal, "u", "", ms(1)))
	base := get(t, dbs[0], "j")

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			j := *base
			j.State = StateSubmitting
			j.Attempts = i
			errs[i] = dbs[i%2].Update(t.Context(), &j, StateQueued)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Errorf("writer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d writers won the transition, want 1", wins)
	}
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	all := []State{StateQueued, StateSubmitting, StateRunning, StateComplete, StateDelivering,
		StateDelivered, StateFailed, StateCancelled, StateInterrupted, StateUndeliverable}
	allowed := map[[2]State]bool{
		{StateQueued, StateSubmitting}:        true,
		{StateQueued, StateCancelled}:         true,
		{StateQueued, StateFailed}:            true,
		{StateSubmitting, StateRunning}:       true,
		{StateSubmitting, StateFailed}:        true,
		{StateSubmitting, StateInterrupted}:   true,
		{StateSubmitting, StateCancelled}:     true,
		{StateRunning, StateComplete}:         true,
		{StateRunning, StateFailed}:           true,
		{StateRunning, StateCancelled}:        true,
		{StateComplete, StateDelivering}:      true,
		{StateComplete, StateFailed}:          true,
		{StateDelivering, StateDelivered}:     true,
		{StateDelivering, StateUndeliverable}: true,
		{StateDelivering, StateFailed}:        true,
	}
	final := map[State]bool{StateDelivered: true, StateFailed: true, StateCancelled: true,
		StateInterrupted: true, StateUndeliverable: true}
	for _, from := range all {
		if !from.Valid() {
			t.Errorf("%s.Valid() = false", from)
		}
		if got := from.Final(); got != final[from] {
			t.Errorf("%s.Final() = %v, want %v", from, got, final[from])
		}
		for _, to := range all {
			want := from == to || allowed[[2]State{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range []State{"", "rendering", "QUEUED"} {
		if s.Valid() || CanTransition(s, s) || CanTransition(StateQueued, s) || CanTransition(s, StateQueued) {
			t.Errorf("unknown state %q accepted", s)
		}
	}
}

func TestClaim(t *testing.T) {
	t.Parallel()
	now := ms(1_000_000)
	until := now.Add(time.Minute)
	tests := []struct {
		name      string
		holder    string
		expires   time.Time
		owner     string
		takeover  string
		wantErr   error
		wantOwner string
	}{
		{name: "free", owner: "A", wantOwner: "A"},
		{name: "own", holder: "A", expires: now.Add(time.Second), owner: "A", wantOwner: "A"},
		{name: "expired", holder: "B", expires: now.Add(-time.Second), owner: "A", wantOwner: "A"},
		{name: "expires now", holder: "B", expires: now, owner: "A", wantOwner: "A"},
		{name: "live other", holder: "B", expires: now.Add(time.Second), owner: "A", wantErr: ErrLeased, wantOwner: "B"},
		{name: "takeover", holder: "B", expires: now.Add(time.Hour), owner: "A", takeover: "B", wantOwner: "A"},
		{name: "takeover of someone else", holder: "B", expires: now.Add(time.Hour), owner: "A", takeover: "C",
			wantErr: ErrLeased, wantOwner: "B"},
	}
	db := openTest(t)
	for i, tt := range tests {
		id := fmt.Sprint("job", i)
		j := testJob(id, OriginTerminal, "u", "", ms(1))
		j.LeaseOwner, j.LeaseExpiresAt = tt.holder, tt.expires
		insert(t, db, j)

		got, err := db.Claim(t.Context(), id, tt.owner, now, until, tt.takeover)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Claim error = %v, want %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `"`+tt.holder+`"`) {
			t.Errorf("%s: error %q does not name the holder %q", tt.name, err, tt.holder)
		}
		if err == nil && (got.LeaseOwner != tt.owner || !got.LeaseExpiresAt.Equal(until) || got.ID != id) {
			t.Errorf("%s: Claim returned lease %q until %v, want %q until %v", tt.name,
				got.LeaseOwner, got.LeaseExpiresAt, tt.owner, until)
		}
		if stored := get(t, db, id); stored.LeaseOwner != tt.wantOwner {
			t.Errorf("%s: stored lease owner = %q, want %q", tt.name, stored.LeaseOwner, tt.wantOwner)
		}
	}
	if _, err := db.Claim(t.Context(), "nope", "A", now, until, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Claim(unknown) = %v, want ErrNotFound", err)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	j := testJob("j", OriginTerminal, "u", "", ms(1))
	j.LeaseOwner, j.LeaseExpiresAt = "A", ms(99_999)
	insert(t, db, j)

	if err := db.Release(t.Context(), "j", "B"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, "j"); got.LeaseOwner != "A" {
		t.Errorf("Release by a non-holder cleared the lease (owner now %q)", got.LeaseOwner)
	}
	if err := db.Release(t.Context(), "j", "A"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, "j"); got.LeaseOwner != "" || !got.LeaseExpiresAt.IsZero() {
		t.Errorf("after Release: lease %q until %v, want free", got.LeaseOwner, got.LeaseExpiresAt)
	}
}

func TestRequestCancelKeepsFirst(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	insert(t, db, testJob("j", OriginDiscord, "u", "g", ms(1)))
	first, err := db.RequestCancel(t.Context(), "j", "alice", ms(100))
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.RequestCancel(t.Context(), "j", "bob", ms(200))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []*Job{first, second, get(t, db, "j")} {
		if j.CancelRequestedBy != "alice" || !j.CancelRequestedAt.Equal(ms(100)) {
			t.Errorf("cancel requested by %q at %v, want alice at %v", j.CancelRequestedBy, j.CancelRequestedAt, ms(100))
		}
	}
	if _, err := db.RequestCancel(t.Context(), "nope", "alice", ms(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("RequestCancel(unknown) = %v, want ErrNotFound", err)
	}
}

func TestAcknowledge(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	insert(t, db, testJob("j", OriginDiscord, "u", "g", ms(1)))
	for _, at := range []time.Time{ms(100), ms(200)} {
		if err := db.Acknowledge(t.Context(), "j", at); err != nil {
			t.Fatal(err)
		}
	}
	if got := get(t, db, "j").AcknowledgedAt; !got.Equal(ms(100)) {
		t.Errorf("acknowledged at %v, want the first time %v", got, ms(100))
	}
	if err := db.Acknowledge(t.Context(), "nope", ms(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Acknowledge(unknown) = %v, want ErrNotFound", err)
	}
}

func TestUnfinished(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	closed := testJob("closed", OriginDiscord, "u", "g", ms(1))
	closed.State, closed.ClosedAt = StateDelivered, ms(5)
	insert(t, db,
		testJob("d3", OriginDiscord, "u", "g", ms(30)),
		testJob("d1", OriginDiscord, "v", "h", ms(10)),
		closed,
		testJob("t1", OriginTerminal, "u", "", ms(20)),
		testJob("d2b", OriginDiscord, "u", "g", ms(20)),
		testJob("d2a", OriginDiscord, "u", "g", ms(20)),
	)
	for origin, want := range map[Origin][]string{
		OriginDiscord:  {"d1", "d2a", "d2b", "d3"},
		OriginTerminal: {"t1"},
	} {
		jobs, err := db.Unfinished(t.Context(), origin)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(jobs); !slices.Equal(got, want) {
			t.Errorf("Unfinished(%s) = %v, want %v", origin, got, want)
		}
	}
}

func TestListByOwner(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	// alice in guild g1: a1..a5 (a5 newest, a3 failed); plus rows of other owners, guilds, origins.
	var seed []*Job
	for i := 1; i <= 5; i++ {
		j := testJob(fmt.Sprint("a", i), OriginDiscord, "alice", "g1", ms(int64(100*i)))
		if i == 3 {
			j.State = StateFailed
		}
		seed = append(seed, j)
	}
	tie := testJob("a0", OriginDiscord, "alice", "g1", ms(500)) // same time as a5: id breaks the tie
	seed = append(seed, tie,
		testJob("b1", OriginDiscord, "bob", "g1", ms(150)),
		testJob("ag2", OriginDiscord, "alice", "g2", ms(160)),
		testJob("at", OriginTerminal, "alice", "", ms(170)),
		testJob("at2", OriginTerminal, "alice", "", ms(180)),
		testJob("bt", OriginTerminal, "bob", "", ms(190)),
	)
	insert(t, db, seed...)

	queued := []State{StateQueued}
	tests := []struct {
		name string
		f    ListFilter
		want []string
	}{
		{"alice in g1", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice"},
			[]string{"a5", "a0", "a4", "a3", "a2", "a1"}},
		{"alice in g2", ListFilter{Origin: OriginDiscord, GuildID: "g2", OwnerID: "alice"}, []string{"ag2"}},
		{"bob in g1", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "bob"}, []string{"b1"}},
		{"alice at the terminal", ListFilter{Origin: OriginTerminal, OwnerID: "alice"}, []string{"at2", "at"}},
		{"alice, no guild, discord", ListFilter{Origin: OriginDiscord, OwnerID: "alice"}, nil},
		{"states", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice",
			States: []State{StateFailed, StateDelivered}}, []string{"a3"}},
		{"queued", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", States: queued},
			[]string{"a5", "a0", "a4", "a2", "a1"}},
		{"limit", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", Limit: 2},
			[]string{"a5", "a0"}},
		{"offset", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", Limit: 2, Offset: 2},
			[]string{"a4", "a3"}},
		{"past the end", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", Offset: 6}, nil},
		{"stranger", ListFilter{Origin: OriginDiscord, GuildID: "g1", OwnerID: "carol"}, nil},
	}
	for _, tt := range tests {
		jobs, err := db.ListByOwner(t.Context(), tt.f)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := ids(jobs); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ListByOwner = %v, want %v", tt.name, got, tt.want)
		}
		for _, j := range jobs {
			if j.OwnerID != tt.f.OwnerID || j.GuildID != tt.f.GuildID || j.Origin != tt.f.Origin {
				t.Errorf("%s: returned %s of %s/%s/%s", tt.name, j.ID, j.Origin, j.GuildID, j.OwnerID)
			}
		}
		unpaged := tt.f
		unpaged.Limit, unpaged.Offset = MaxListLimit, 0
		all, err := db.ListByOwner(t.Context(), unpaged)
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.CountByOwner(t.Context(), tt.f)
		if err != nil {
			t.Errorf("%s: CountByOwner: %v", tt.name, err)
		} else if n != len(all) {
			t.Errorf("%s: CountByOwner = %d, want %d", tt.name, n, len(all))
		}
	}

	for name, f := range map[string]ListFilter{
		"empty owner":    {Origin: OriginDiscord, GuildID: "g1"},
		"empty origin":   {GuildID: "g1", OwnerID: "alice"},
		"bad state":      {Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", States: []State{"nope"}},
		"negative limit": {Origin: OriginDiscord, GuildID: "g1", OwnerID: "alice", Limit: -1},
	} {
		if jobs, err := db.ListByOwner(t.Context(), f); err == nil {
			t.Errorf("ListByOwner(%s) = %v, want an error", name, ids(jobs))
		}
		if name == "negative limit" {
			continue
		}
		if _, err := db.CountByOwner(t.Context(), f); err == nil {
			t.Errorf("CountByOwner(%s) succeeded, want an error", name)
		}
	}
}

func TestListByOwnerLimits(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	tx, err := db.SQL().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO jobs
			(id, origin, owner_id, scene_id, mapping, state, created_at, updated_at)
			VALUES (?, 'terminal', 'u', 's', '[]', 'queued', ?, ?)`, fmt.Sprintf("j%03d", i), i, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for limit, want := range map[int]int{0: DefaultListLimit, 5: 5, 100: 100, 1000: MaxListLimit} {
		jobs, err := db.ListByOwner(t.Context(), ListFilter{Origin: OriginTerminal, OwnerID: "u", Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != want {
			t.Errorf("Limit %d returned %d jobs, want %d", limit, len(jobs), want)
		}
	}
	if n, err := db.CountByOwner(t.Context(), ListFilter{Origin: OriginTerminal, OwnerID: "u", Limit: 3}); err != nil || n != 120 {
		t.Errorf("CountByOwner = %d, %v; want 120", n, err)
	}
}

func TestQueuePosition(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	running := func(id string, origin Origin, created int64, status string) *Job {
		j := testJob(id, origin, "u", "g", ms(created))
		j.State, j.ViggleStatus, j.ViggleJobID = StateRunning, status, "v-"+id
		return j
	}
	insert(t, db,
		running("r1", OriginDiscord, 10, "queued"),
		running("r2", OriginDiscord, 20, "processing"), // started: not in the queue
		running("r3", OriginDiscord, 30, ""),           // status not polled yet
		running("r4b", OriginDiscord, 40, "queued"),
		running("r4a", OriginDiscord, 40, "queued"),
		running("t1", OriginTerminal, 5, "queued"), // other origin
		testJob("q1", OriginDiscord, "u", "g", ms(1)),
	)
	for _, tt := range []struct {
		origin Origin
		id     string
		want   int
	}{
		{OriginDiscord, "r1", 1},
		{OriginDiscord, "r2", 0},
		{OriginDiscord, "r3", 2},
		{OriginDiscord, "r4a", 3},
		{OriginDiscord, "r4b", 4},
		{OriginDiscord, "q1", 0},
		{OriginTerminal, "t1", 1},
		{OriginTerminal, "r1", 0},
	} {
		got, err := db.QueuePosition(t.Context(), tt.origin, tt.id)
		if err != nil {
			t.Errorf("QueuePosition(%s, %s): %v", tt.origin, tt.id, err)
		} else if got != tt.want {
			t.Errorf("QueuePosition(%s, %s) = %d, want %d", tt.origin, tt.id, got, tt.want)
		}
	}
	if _, err := db.QueuePosition(t.Context(), OriginDiscord, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("QueuePosition(unknown) = %v, want ErrNotFound", err)
	}
}

func TestInsertGroupCommitKeepsEachOutcome(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			j := &Job{ID: fmt.Sprintf("grp%07d", i), Origin: OriginDiscord, OwnerID: "u", GuildID: "g",
				InteractionID: fmt.Sprintf("i%d", i%30), Request: spec.Request{SceneID: "s"}}
			errs <- db.Insert(ctx, j)
		}()
	}
	var dup, ok int
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrDuplicate):
			dup++
		default:
			t.Fatalf("insert: %v", err)
		}
	}
	// Ten interaction ids were used twice: exactly one of each pair is refused, the rest committed.
	if ok != 30 || dup != 10 {
		t.Fatalf("%d inserted, %d duplicates; want 30 and 10", ok, dup)
	}
	var rows int
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs").Scan(&rows); err != nil || rows != 30 {
		t.Fatalf("%d rows (%v), want 30", rows, err)
	}
}

func TestInsertGivesUpAtItsDeadline(t *testing.T) {
	db := openTest(t)
	// Another caller holds the connection.
	if err := db.gate.lock(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := db.Insert(ctx, &Job{ID: "late000001", Origin: OriginDiscord, OwnerID: "u", Request: spec.Request{SceneID: "s"}})
	db.gate.unlock()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("insert past its deadline: %v", err)
	}
	if _, err := db.Get(t.Context(), "late000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a job that gave up was written anyway: %v", err)
	}
}

func TestOneRetryPerJob(t *testing.T) {
	db := openTest(t)
	mk := func(id, interaction string) *Job {
		return &Job{ID: id, Origin: OriginDiscord, OwnerID: "u", InteractionID: interaction, RetryOf: "jfailed001", Request: spec.Request{SceneID: "s"}}
	}
	if err := db.Insert(t.Context(), mk("jretry0001", "i-1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(t.Context(), mk("jretry0002", "i-2")); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second retry of the same job: %v, want ErrDuplicate", err)
	}
}

func TestGroupCommitKeepsTheCallersDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	other := openAt(t, path) // another process holding the write lock
	conn, err := other.SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = db.Insert(ctx, &Job{ID: "slow000001", Origin: OriginDiscord, OwnerID: "u", InteractionID: "i", Request: spec.Request{SceneID: "s"}})
	took := time.Since(start)
	if _, rerr := conn.ExecContext(t.Context(), "ROLLBACK"); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		t.Fatalf("insert succeeded after %v, past its deadline", took)
	}
	if took > 3*time.Second {
		t.Fatalf("insert gave up after %v; its deadline was 200ms", took)
	}
	if _, err := db.Get(t.Context(), "slow000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a job whose insert gave up exists: %v", err)
	}
}

// TestUpdateKeepsKeyRef checks that the key a job was created with is never rewritten: its Viggle calls
// keep using it whatever happens to the guild's key.
func TestUpdateKeepsKeyRef(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	j := testJob("jkey", OriginDiscord, "u", "g", ms(1000))
	j.KeyRef = "key0000001"
	j.LeaseOwner = "me"
	insert(t, db, j)
	j.KeyRef = "key0000002"
	j.State = StateSubmitting
	if err := db.Update(t.Context(), j, StateQueued); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, "jkey"); got.KeyRef != "key0000001" {
		t.Errorf("key_ref after Update = %q, want the one it was created with", got.KeyRef)
	}
}
