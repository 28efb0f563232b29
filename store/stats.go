package store

import (
	"context"
	"fmt"
	"time"
)

// GuildStats is what /stats shows of a guild (for the bot's owners).
type GuildStats struct {
	GuildID              string
	JobsToday, JobsTotal int // jobs created (this UTC day, ever)
	Failures             int // jobs failed, interrupted or undeliverable
	// OutputSeconds is the video rendered for the guild, about the credits spent: for each job Viggle
	// completed, its scene's duration when the guild's scenes know it (by Viggle id), else the job's
	// estimated credits.
	OutputSeconds float64
	OwnKey        bool // the guild has a current key of its own
}

// statsSQL reads GuildStats for every guild with jobs or a current key; ?1 and ?2 bound the UTC day. A
// job completed at Viggle is one with a video (video_url is kept when a delivery fails) or in a state
// after Viggle's completion.
const statsSQL = `WITH per AS (
	SELECT j.guild_id,
		SUM(CASE WHEN j.created_at >= ?1 AND j.created_at < ?2 THEN 1 ELSE 0 END) AS today,
		COUNT(*) AS total,
		SUM(CASE WHEN j.state IN ('failed', 'interrupted', 'undeliverable') THEN 1 ELSE 0 END) AS failures,
		SUM(CASE WHEN j.video_url <> '' OR j.state IN ('complete', 'delivering', 'delivered', 'undeliverable')
			THEN COALESCE((SELECT s.duration_ms FROM scenes s WHERE s.guild_id = j.guild_id AND s.viggle_id = j.scene_id) / 1000.0,
				j.estimated_credits)
			ELSE 0 END) AS output
	FROM jobs j WHERE j.guild_id <> '' GROUP BY j.guild_id
), guilds AS (
	SELECT guild_id FROM per UNION SELECT guild_id FROM guild_keys WHERE retired_at IS NULL
)
SELECT g.guild_id, COALESCE(per.today, 0), COALESCE(per.total, 0), COALESCE(per.failures, 0),
	COALESCE(per.output, 0.0),
	EXISTS (SELECT 1 FROM guild_keys k WHERE k.guild_id = g.guild_id AND k.retired_at IS NULL)
FROM guilds g LEFT JOIN per ON per.guild_id = g.guild_id
ORDER BY 2 DESC, 3 DESC, g.guild_id`

// Stats returns the statistics of every guild that has jobs or a key of its own, busiest first (jobs
// today, then in total); "today" is now's UTC day. It reads the whole jobs table (for the bot's owners,
// not for every render).
func (db *DB) Stats(ctx context.Context, now time.Time) ([]GuildStats, error) {
	day := utcDay(now)
	var out []GuildStats
	err := db.queryRows(ctx, func(s scanner) error {
		var g GuildStats
		if err := s.Scan(&g.GuildID, &g.JobsToday, &g.JobsTotal, &g.Failures, &g.OutputSeconds, &g.OwnKey); err != nil {
			return err
		}
		out = append(out, g)
		return nil
	}, statsSQL, day.UnixMilli(), day.Add(24*time.Hour).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	return out, nil
}
