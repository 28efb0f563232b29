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
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(writeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.seq++
	typ, b, err := c.encodeLocked(map[string]any{"op": opDispatch, "t": event, "s": c.seq, "d": d})
	if err != nil {
		return time.Time{}, err
	}
	_ = c.ws.SetWriteDeadline(deadline)
	at := clock()
	return at, c.ws.WriteMessage(typ, b)
}
