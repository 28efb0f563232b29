package viggle

import (
	"context"
	"errors"
	"time"

	"github.com/viggle-bot/viggle-bot/backoff"
)

// RetryPolicy controls the retries of safe calls (GetRender, GetScene, GetCharacter, Credits, CancelRender and the
// requests of Download). They are retried on HTTP 429, 5xx, malformed 2xx bodies and network errors, never on
// other 4xx. The creates (CreateRender, ImportScene, PreprocessCharacter) are never retried.
type RetryPolicy struct {
	MaxAttempts   int           // total attempts for safe calls; default 5
	BaseDelay     time.Duration // first backoff (exponential, with equal jitter); default 500ms
	MaxDelay      time.Duration // cap of the computed backoff; default 30s
	MaxRetryAfter time.Duration // cap applied to a server's Retry-After (seconds or HTTP date); default 60s
}

// Retry defaults.
const (
	defaultMaxAttempts   = 5
	defaultBaseDelay     = 500 * time.Millisecond
	defaultMaxDelay      = 30 * time.Second
	defaultMaxRetryAfter = 60 * time.Second
)

func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 {
		return errors.New("retry policy has a negative field")
	}
	return nil
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = defaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = defaultMaxDelay
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = defaultMaxRetryAfter
	}
	return p
}

// policy is the bot's backoff policy with these numbers: BaseDelay·2^(n-1) capped at MaxDelay, with equal
// jitter (half fixed, half random), MaxAttempts in all.
func (p RetryPolicy) policy() backoff.Policy {
	return backoff.Policy{Base: p.BaseDelay, Cap: p.MaxDelay, Jitter: backoff.Equal, Attempts: p.MaxAttempts}
}

// backoff is the wait after failed attempt n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration { return p.policy().Delay(n) }

// retryAfter is the server's Retry-After of err capped at MaxRetryAfter, or 0 when it gave none.
func (p RetryPolicy) retryAfter(err error) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return min(ae.RetryAfter, p.MaxRetryAfter)
	}
	return 0
}

// delay is the wait after failed attempt n with error err: the server's Retry-After capped at MaxRetryAfter when
// given, otherwise the backoff.
func (p RetryPolicy) delay(n int, err error) time.Duration {
	if d := p.retryAfter(err); d > 0 {
		return d
	}
	return p.backoff(n)
}

// malformedError is a 2xx answer whose body could not be used; safe calls retry it.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "malformed response: " + e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// retryable reports whether a safe call should be attempted again after err.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var (
		ae *APIError
		me *malformedError
		te *transportError
	)
	switch {
	case errors.As(err, &ae):
		return ae.Temporary()
	case errors.As(err, &me), errors.As(err, &te):
		return true
	}
	return false
}

// withRetry runs attempt until it succeeds, fails for good, or the policy's attempts are used up; then it returns
// the last error. attempt returns retry=false to stop early (e.g. after bytes were delivered). When ctx is done
// (a wait ends early then), the error wraps ctx.Err() as well as the last attempt's error.
func (c *Client) withRetry(ctx context.Context, attempt func() (retry bool, err error)) error {
	p := c.retry
	return p.policy().Do(ctx, func(ctx context.Context, _ int) error {
		retry, err := attempt()
		if err == nil || ctx.Err() != nil || !retry || !retryable(ctx, err) {
			return err
		}
		if d := p.retryAfter(err); d > 0 {
			return backoff.RetryAfter(err, d)
		}
		return backoff.Retryable(err)
	})
}
