package jobs

import (
	"context"
	"log/slog"

	"github.com/viggle-bot/viggle-bot/store"
)

// Every log line about a job carries its id, guild and user at the top level ("job", "guild",
// "user": store.Job.Logger), so that an operator can follow one render, or one server's, through the
// logs.

// logFor is the logger for lines about the job id when the caller holds no row: it reads the row for
// the guild and user (the lines it serves are rare), and names the id alone when that fails.
func (e *Engine) logFor(ctx context.Context, id string) *slog.Logger {
	if j, err := e.store.Get(ctx, id); err == nil {
		return j.Logger(e.log)
	}
	return e.log.With(store.JobAttrs(id, "", "")...)
}
