package discordtest

import (
	"context"
	"time"
)

// dispatchAt is dispatch that also returns when the event was handed to the
// websocket: read with clock once the payload is encoded (and compressed),
// just before it is written, so neither the wait behind other writers nor
// the fake's own encoding is counted.
func (c *gwConn) dispatchAt(ctx context.Context, event string, d any, clock func() time.Time) (time.Time, error) {
	ats, err := c.dispatchAllAt(ctx, event, []any{d}, clock)
	if err != nil {
		return time.Time{}, err
	}
	return ats[0], nil
}

// dispatchAllAt is dispatchAt for several events of one type, written back to back under one hold of
// the write lock (as Discord sends a burst: no writer goroutines contending for the connection). It
// returns the clock read just before each write; on error, the times of the events written before the
// failed one.
func (c *gwConn) dispatchAllAt(ctx context.Context, event string, ds []any, clock func() time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(writeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ats := make([]time.Time, 0, len(ds))
	for _, d := range ds {
		c.seq++
		typ, b, err := c.encodeLocked(map[string]any{"op": opDispatch, "t": event, "s": c.seq, "d": d})
		if err != nil {
			return ats, err
		}
		_ = c.ws.SetWriteDeadline(deadline)
		at := clock()
		if err := c.ws.WriteMessage(typ, b); err != nil {
			return ats, err
		}
		ats = append(ats, at)
	}
	return ats, nil
}
