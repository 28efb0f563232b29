package store

import (
	"context"
	"sync"
)

// gate orders the store's use of its one connection: waiting high-priority work (inserting jobs: a
// Discord user is waiting for the acknowledgement, which must reach Discord within 3 s) goes before
// low-priority work (recording acknowledgements, the engine's bookkeeping), and inserts waiting together
// are committed together (group commit, see Insert). database/sql would hand the connection to a random waiter instead.
// Written here because no library orders waiters on a database/sql pool.
type gate struct {
	mu        sync.Mutex
	busy      bool
	high, low []*gateWaiter
}

type gateWaiter struct {
	ch        chan struct{}
	granted   bool
	cancelled bool
}

// lock waits for the connection. On error (ctx ended) the caller does not hold it.
func (g *gate) lock(ctx context.Context, high bool) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{ch: make(chan struct{})}
	if high {
		g.high = append(g.high, w)
	} else {
		g.low = append(g.low, w)
	}
	g.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if w.granted { // handed over just now: pass it on
			g.mu.Unlock()
			g.unlock()
			return ctx.Err()
		}
		w.cancelled = true
		g.mu.Unlock()
		return ctx.Err()
	}
}

// unlock hands the connection to the oldest high-priority waiter, else the oldest low one.
func (g *gate) unlock() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		var w *gateWaiter
		switch {
		case len(g.high) > 0:
			w, g.high = g.high[0], g.high[1:]
		case len(g.low) > 0:
			w, g.low = g.low[0], g.low[1:]
		default:
			g.busy = false
			return
		}
		if w.cancelled {
			continue
		}
		w.granted = true
		close(w.ch)
		return
	}
}
