package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one condition of readiness: Func returns nil when it holds, else why not.
type Check struct {
	Name string // what is checked, first in the reason ("gateway", "database")
	Func func(ctx context.Context) error
}

// readyTimeout bounds all the checks of one /readyz.
const readyTimeout = 2 * time.Second

// Handler serves:
//   - GET /metrics: the metrics, in Prometheus's text format (or OpenMetrics when asked);
//   - GET /livez: 200 "ok" while the process runs;
//   - GET /readyz: 200 "ready" when every check holds, else 503 with one line naming the first that
//     does not and why ("not ready: database: …"), all of them within readyTimeout.
func (m *Metrics) Handler(checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError, // a count that failed leaves the other metrics served
		Registry:      m.reg,                    // promhttp's own metrics about the scrapes
	}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		for _, c := range checks {
			if err := run(ctx, c); err != nil {
				text(w, http.StatusServiceUnavailable, "not ready: "+c.Name+": "+oneLine(err.Error()))
				return
			}
		}
		text(w, http.StatusOK, "ready")
	})
	return mux
}

// run runs a check, returning at ctx's end even if the check does not.
func run(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Func(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %v", readyTimeout)
	}
}

func text(w http.ResponseWriter, status int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, line)
}

// oneLine keeps a reason on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// slogPrinter adapts the logger to promhttp's ErrorLog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics: serving a scrape", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}

// shutdownGrace bounds how long Serve waits for requests in flight once ctx ended.
const shutdownGrace = 5 * time.Second

// Serve serves h on ln until ctx ends, then closes the listener and waits (at most shutdownGrace) for
// the requests in flight. It returns nil after a shutdown by ctx, else why serving stopped.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// A scrape still running past the grace time is cut off: the database it reads closes next.
		_ = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), serr)
	}
	if err != nil {
		return fmt.Errorf("metrics: shut down the server on %s: %w", ln.Addr(), err)
	}
	return nil
}
