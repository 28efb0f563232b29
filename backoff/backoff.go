// Package backoff is the bot's one retry policy: delays that grow exponentially from a base, are capped,
// and are jittered so that many callers do not retry in step, and a loop (Do) that waits them out while
// honouring its context. It is built on github.com/sethvargo/go-retry. Each caller keeps its own numbers
// (base, cap, attempts) and its own rule for which errors are worth another attempt.
package backoff

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"
)

// Jitter says how a delay is spread around its exponential value d.
type Jitter int

const (
	// Equal waits between d/2 and d: half fixed, half random.
	Equal Jitter = iota
	// Extra waits between d and d + d/4: never less than d (the engine's polls keep their interval).
	Extra
	// None waits exactly d.
	None
)

// Policy is one caller's numbers.
type Policy struct {
	Base     time.Duration // the first delay (before jitter); must be > 0
	Cap      time.Duration // the largest delay before jitter; 0 = no cap
	Jitter   Jitter
	Attempts int // Do: total attempts, the first included; 0 = until the context ends
}

// Delay returns the wait after the n-th failure in a row (n ≥ 1): Base·2^(n-1), capped at Cap, jittered.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && (p.Cap <= 0 || d < p.Cap); i++ {
		if d > (1<<62)/2 { // would overflow
			break
		}
		d *= 2
	}
	if p.Cap > 0 && d > p.Cap {
		d = p.Cap
	}
	if d <= 0 {
		return 0
	}
	switch p.Jitter {
	case Equal:
		half := d / 2
		return half + rand.N(d-half+1)
	case Extra:
		return d + rand.N(d/4+1)
	}
	return d
}

// Retryable marks err as worth another attempt in Do.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryable{err: err}
}

// RetryAfter marks err as worth another attempt after d (a server's Retry-After) instead of the
// policy's delay.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryable{err: err, after: d}
}

type retryable struct {
	err   error
	after time.Duration
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// Do calls f (with the 1-based attempt number) until it returns nil, an error not marked Retryable (or
// RetryAfter), the policy's attempts are spent, or ctx ends. It returns f's last error without the mark;
// when ctx ended, an error that wraps both ctx's error and the last one.
func (p Policy) Do(ctx context.Context, f func(ctx context.Context, attempt int) error) error {
	var (
		mu      sync.Mutex
		attempt int
		last    error
		after   time.Duration // the wait the last error asked for; 0 = the policy's
	)
	b := retry.Backoff(retry.BackoffFunc(func() (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		if after > 0 {
			return after, false
		}
		return p.Delay(attempt), false
	}))
	if p.Attempts > 0 {
		b = retry.WithMaxRetries(uint64(p.Attempts-1), b)
	}
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		mu.Lock()
		attempt++
		n := attempt
		mu.Unlock()
		err := f(ctx, n)
		mu.Lock()
		defer mu.Unlock()
		var r *retryable
		if errors.As(err, &r) {
			last, after = r.err, r.after
			return retry.RetryableError(r.err)
		}
		last, after = err, 0
		return err
	})
	if err == nil {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	if last == nil { // ctx ended before the first attempt
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(last, cerr) {
		return fmt.Errorf("%w (last error: %w)", cerr, last)
	}
	return last
}
