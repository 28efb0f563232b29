package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits are a guild's limits on renders; 0 means no limit. See Insert for how they are counted.
type Limits struct {
	ConcurrentPerUser    int           // a member's renders in progress (queued, submitting, running)
	RendersPerUserPerDay int           // a member's renders of a UTC day
	Cooldown             time.Duration // between two renders of a member; stored in whole seconds (rounded up)
	GuildRendersPerDay   int           // the guild's renders of a UTC day
}

// GuildSettings are what a guild's admins chose with /config. A guild that never changed them has the
// zero settings (with GuildID set): no limits, renders anywhere by anyone, the original background.
type GuildSettings struct {
	GuildID           string
	Limits            Limits
	ChannelID         string // renders only there; "" = anywhere
	RoleID            string // only members with it may render; "" = anyone
	DefaultBackground string // "" = original
	DefaultFast       bool
	Approval          bool // new characters of the guild are held for review
	ModlogChannelID   string
	UpdatedAt         time.Time // zero: never changed
}

// Change is one line of a guild's change log: who changed what, when.
type Change struct {
	GuildID, ActorID string
	// What says it in plain words, e.g. "limits: 2 at a time, 10 a day, cooldown 30s, server 100 a day".
	// Never a key (the log is shown to the guild's admins).
	What string
	At   time.Time // zero: now
}

// Default and maximum counts of RecentChanges.
const (
	DefaultRecentChanges = 5
	MaxRecentChanges     = 100
)

const guildSettingsColumns = `guild_id, concurrent_per_user, renders_per_user_per_day, cooldown_seconds,
	guild_renders_per_day, channel_id, role_id, default_background, default_fast, approval, modlog_channel_id,
	updated_at`

func scanGuildSettings(s scanner) (*GuildSettings, error) {
	var (
		g        GuildSettings
		cooldown int64
		updated  sql.NullInt64
	)
	err := s.Scan(&g.GuildID, &g.Limits.ConcurrentPerUser, &g.Limits.RendersPerUserPerDay, &cooldown,
		&g.Limits.GuildRendersPerDay, &g.ChannelID, &g.RoleID, &g.DefaultBackground, &g.DefaultFast, &g.Approval,
		&g.ModlogChannelID, &updated)
	if err != nil {
		return nil, err
	}
	g.Limits.Cooldown = time.Duration(cooldown) * time.Second
	g.UpdatedAt = fromMillis(updated)
	return &g, nil
}

// guildSettings reads the guild's settings in q (the pool or a transaction): the defaults when it has no row.
func guildSettings(ctx context.Context, q querier, guildID string) (*GuildSettings, error) {
	g, err := scanGuildSettings(q.QueryRowContext(ctx, `SELECT `+guildSettingsColumns+`
		FROM guild_settings WHERE guild_id = ?`, guildID))
	if errors.Is(err, sql.ErrNoRows) {
		return &GuildSettings{GuildID: guildID}, nil
	}
	return g, err
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// GuildSettings returns the guild's settings: the defaults (with GuildID set) when they were never changed.
func (db *DB) GuildSettings(ctx context.Context, guildID string) (*GuildSettings, error) {
	if guildID == "" {
		return nil, errors.New("store: guild settings: empty guild id")
	}
	if err := db.gate.lock(ctx, false); err != nil {
		return nil, fmt.Errorf("store: GuildSettings: %w", err)
	}
	defer db.gate.unlock()
	g, err := guildSettings(ctx, db.sql, guildID)
	if err != nil {
		return nil, fmt.Errorf("store: settings of guild %s: %w", guildID, err)
	}
	return g, nil
}

// UpdateGuildSettings reads the guild's settings, calls apply with them, writes them (updated_at = now)
// and the change c in one transaction, and returns them as written. apply may not change GuildID. A
// negative limit is an error and nothing is written. c.GuildID "" means guildID.
func (db *DB) UpdateGuildSettings(ctx context.Context, guildID string, c Change, apply func(*GuildSettings)) (*GuildSettings, error) {
	if guildID == "" {
		return nil, errors.New("store: update guild settings: empty guild id")
	}
	var out *GuildSettings
	err := db.write(ctx, func(tx *sql.Tx) error {
		g, err := guildSettings(ctx, tx, guildID)
		if err != nil {
			return err
		}
		apply(g)
		l := g.Limits
		switch {
		case g.GuildID != guildID:
			return fmt.Errorf("apply changed the guild id to %q", g.GuildID)
		case l.ConcurrentPerUser < 0 || l.RendersPerUserPerDay < 0 || l.GuildRendersPerDay < 0 || l.Cooldown < 0:
			return fmt.Errorf("negative limit in %+v", l)
		}
		cooldown := int64((l.Cooldown + time.Second - 1) / time.Second)
		g.Limits.Cooldown = time.Duration(cooldown) * time.Second
		now := db.now()
		g.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO guild_settings (`+guildSettingsColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (guild_id) DO UPDATE SET
				concurrent_per_user = excluded.concurrent_per_user,
				renders_per_user_per_day = excluded.renders_per_user_per_day,
				cooldown_seconds = excluded.cooldown_seconds,
				guild_renders_per_day = excluded.guild_renders_per_day,
				channel_id = excluded.channel_id, role_id = excluded.role_id,
				default_background = excluded.default_background, default_fast = excluded.default_fast,
				approval = excluded.approval, modlog_channel_id = excluded.modlog_channel_id,
				updated_at = excluded.updated_at`,
			g.GuildID, l.ConcurrentPerUser, l.RendersPerUserPerDay, cooldown, l.GuildRendersPerDay,
			g.ChannelID, g.RoleID, g.DefaultBackground, g.DefaultFast, g.Approval, g.ModlogChannelID,
			now.UnixMilli()); err != nil {
			return err
		}
		if c.GuildID == "" {
			c.GuildID = guildID
		}
		if err := db.logChange(ctx, tx, c); err != nil {
			return err
		}
		out = g
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: update settings of guild %s: %w", guildID, err)
	}
	return out, nil
}

// LogChange adds c to its guild's change log.
func (db *DB) LogChange(ctx context.Context, c Change) error {
	if err := db.write(ctx, func(tx *sql.Tx) error { return db.logChange(ctx, tx, c) }); err != nil {
		return fmt.Errorf("store: log change of guild %s: %w", c.GuildID, err)
	}
	return nil
}

// logChange inserts c in tx: the change of a transaction is committed with it.
func (db *DB) logChange(ctx context.Context, tx *sql.Tx, c Change) error {
	c.What = strings.TrimSpace(c.What)
	switch {
	case c.GuildID == "":
		return errors.New("change without a guild id")
	case c.What == "":
		return errors.New("change without words")
	}
	if c.At.IsZero() {
		c.At = db.now()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO guild_changes (guild_id, actor_id, what, at) VALUES (?, ?, ?, ?)`,
		c.GuildID, c.ActorID, c.What, c.At.UnixMilli())
	return err
}

// RecentChanges returns the guild's last n changes, newest first (n ≤ 0: DefaultRecentChanges; at most
// MaxRecentChanges).
func (db *DB) RecentChanges(ctx context.Context, guildID string, n int) ([]Change, error) {
	if n <= 0 {
		n = DefaultRecentChanges
	}
	n = min(n, MaxRecentChanges)
	var out []Change
	err := db.queryRows(ctx, func(s scanner) error {
		var c Change
		var at sql.NullInt64
		if err := s.Scan(&c.GuildID, &c.ActorID, &c.What, &at); err != nil {
			return err
		}
		c.At = fromMillis(at)
		out = append(out, c)
		return nil
	}, `SELECT guild_id, actor_id, what, at FROM guild_changes WHERE guild_id = ?
		ORDER BY at DESC, id DESC LIMIT ?`, guildID, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent changes of guild %s: %w", guildID, err)
	}
	return out, nil
}
