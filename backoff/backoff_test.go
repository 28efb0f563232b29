package backoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viggle-bot/viggle-bot/backoff"
)

func TestDelay(t *testing.T) {
	for _, c := range []struct {
		p        backoff.Policy
		n        int
		min, max time.Duration
	}{
		{backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: backoff.None}, 1, 100 * time.Millisecond, 100 * time.Millisecond},
		{backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: backoff.None}, 3, 400 * time.Millisecond, 400 * time.Millisecond},
		{backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: backoff.None}, 50, time.Second, time.Second},
		{backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: backoff.Equal}, 2, 100 * time.Millisecond, 200 * time.Millisecond},
		{backoff.Policy{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: backoff.Equal}, 9, 500 * time.Millisecond, time.Second},
		{backoff.Policy{Base: 3 * time.Second, Cap: time.Minute, Jitter: backoff.Extra}, 1, 3 * time.Second, 3*time.Second + 750*time.Millisecond},
		{backoff.Policy{Base: 3 * time.Second, Cap: time.Minute, Jitter: backoff.Extra}, 100, time.Minute, time.Minute + 15*time.Second},
		{backoff.Policy{Base: time.Hour, Jitter: backoff.None}, 1000, time.Hour, 1 << 62}, // no cap: no overflow
	} {
		for range 50 {
			if d := c.p.Delay(c.n); d < c.min || d > c.max {
				t.Fatalf("%+v.Delay(%d) = %v, want within [%v, %v]", c.p, c.n, d, c.min, c.max)
			}
		}
	}
}

func TestDoRetriesMarkedErrors(t *testing.T) {
	p := backoff.Policy{Base: time.Millisecond, Cap: 2 * time.Millisecond, Attempts: 4}
	boom := errors.New("boom")
	calls := 0
	err := p.Do(t.Context(), func(_ context.Context, n int) error {
		calls++
		if n != calls {
			t.Fatalf("attempt %d on call %d", n, calls)
		}
		return backoff.Retryable(boom)
	})
	if err != boom || calls != 4 {
		t.Fatalf("Do = %v after %d calls, want boom (unmarked) after 4", err, calls)
	}

	calls = 0
	final := errors.New("final")
	err = p.Do(t.Context(), func(context.Context, int) error {
		calls++
		if calls == 2 {
			return final
		}
		return backoff.Retryable(boom)
	})
	if err != final || calls != 2 {
		t.Fatalf("Do = %v after %d calls, want final after 2 (an unmarked error stops)", err, calls)
	}

	calls = 0
	err = p.Do(t.Context(), func(context.Context, int) error {
		calls++
		if calls < 3 {
			return backoff.Retryable(boom)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Do = %v after %d calls, want success on the third", err, calls)
	}
}

func TestDoRetryAfterReplacesTheDelay(t *testing.T) {
	p := backoff.Policy{Base: time.Hour, Attempts: 2} // the policy's delay would hang the test
	calls := 0
	err := p.Do(t.Context(), func(context.Context, int) error {
		calls++
		if calls == 1 {
			return backoff.RetryAfter(errors.New("429"), time.Millisecond)
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("Do = %v after %d calls", err, calls)
	}
}

func TestDoHonoursTheContext(t *testing.T) {
	p := backoff.Policy{Base: time.Hour} // until ctx ends
	ctx, cancel := context.WithCancel(t.Context())
	boom := errors.New("boom")
	done := make(chan error, 1)
	tried := make(chan struct{})
	go func() {
		done <- p.Do(ctx, func(_ context.Context, n int) error {
			if n == 1 {
				close(tried)
			}
			return backoff.Retryable(boom)
		})
	}()
	<-tried // now waiting an hour for the second attempt
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, boom) {
		t.Fatalf("Do = %v, want both the cancel and the last error", err)
	}
}
