// Package metrics is the bot's operations surface on HTTP_ADDR: Prometheus metrics (/metrics, on a
// registry of its own, never the global one), liveness (/livez) and readiness (/readyz).
//
// It observes the other packages through the small interfaces they declare (commands.Observer,
// jobs.Observer) and through RoundTrippers wrapped around the Viggle and Discord HTTP clients; it
// imports none of them but store (for its states). Every label value is bounded: routes of the table,
// outcomes the handlers name, path templates (never a URL or an id), status codes, Discord's error
// codes (at most maxCodes distinct ones).
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/viggle-bot/viggle-bot/store"
)

// namespace prefixes every metric name: viggle_bot_….
const namespace = "viggle_bot"

// Metrics holds the bot's metrics. Build it with New; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	interactions *prometheus.CounterVec // command, outcome
	ack          prometheus.Histogram
	viggle       *prometheus.CounterVec // endpoint, status
	discordErrs  *prometheus.CounterVec // code
	delivered    prometheus.Counter

	codesMu sync.Mutex
	codes   map[string]bool // Discord error codes seen, for the cap on their label values
}

// New returns the metrics on a new registry, with the Go runtime's and the process's collectors. The
// jobs and the queue depth are added by WatchJobs and WatchQueue once their sources exist. log
// receives what goes wrong while serving (nil: discarded).
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		interactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "interactions_total",
			Help: "Interactions handled, by command (route: a command's path, \"component <prefix>\", \"autocomplete <path>\" …) and outcome.",
		}, []string{"command", "outcome"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ack_latency_seconds",
			Help: "Time from an interaction reaching the bot to Discord taking its first acknowledgement (Discord drops it after 3 s).",
			// Around Discord's deadline: the automatic deferral comes at 2 s, the interaction is lost at 3 s.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 5},
		}),
		viggle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "viggle_requests_total",
			Help: "HTTP requests to Viggle, by endpoint (method and path template) and status (\"error\": no answer).",
		}, []string{"endpoint", "status"}),
		discordErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "discord_rest_errors_total",
			Help: "Discord REST answers with an error status, by Discord's JSON error code (\"http_<status>\" when the body has none or 0, \"network\" when no answer came).",
		}, []string{"code"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "delivered_bytes_total",
			Help: "Bytes of videos handed over by recorded deliveries (attached files; a video given as a link counts 0).",
		}),
		codes: map[string]bool{},
	}
	m.reg.MustRegister(m.interactions, m.ack, m.viggle, m.discordErrs, m.delivered,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry every metric is on (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Interaction counts one interaction and, when it was acknowledged, its acknowledgement latency. It
// implements commands.Observer.
func (m *Metrics) Interaction(route, outcome string, ack time.Duration, acked bool) {
	m.interactions.WithLabelValues(route, outcome).Inc()
	if acked {
		m.ack.Observe(ack.Seconds())
	}
}

// Delivered adds the bytes of a recorded delivery. It implements jobs.Observer.
func (m *Metrics) Delivered(bytes int64) {
	if bytes > 0 {
		m.delivered.Add(float64(bytes))
	}
}

// WatchQueue adds viggle_bot_queue_depth, read from depth at every scrape (jobs.Engine.QueueDepth).
// Call it once.
func (m *Metrics) WatchQueue(depth func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "queue_depth",
		Help: "Job steps due now that no worker has taken yet: above zero for long, the engine is behind.",
	}, func() float64 { return float64(depth()) }))
}

// JobCounter counts the jobs of the database by state. *store.DB implements it.
type JobCounter interface {
	CountByState(ctx context.Context) (map[store.State]int, error)
}

// jobsCacheFor is how long a count of the jobs is reused: a scrape reads the whole jobs table, so a
// burst of scrapes reads it once.
const jobsCacheFor = 5 * time.Second

// jobsCountTimeout bounds one count (a scrape waits for it).
const jobsCountTimeout = 5 * time.Second

// WatchJobs adds viggle_bot_jobs{state}, counted by src at a scrape (at most every jobsCacheFor).
// Call it once.
func (m *Metrics) WatchJobs(src JobCounter) {
	m.reg.MustRegister(&jobsCollector{src: src, now: time.Now, desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "jobs"),
		"Jobs in the database, by state (every origin).", []string{"state"}, nil)})
}

// jobsCollector reports the jobs by state from the database, cached for jobsCacheFor.
type jobsCollector struct {
	src  JobCounter
	now  func() time.Time
	desc *prometheus.Desc

	mu     sync.Mutex
	counts map[store.State]int
	at     time.Time
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil || c.now().Sub(c.at) >= jobsCacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), jobsCountTimeout)
		counts, err := c.src.CountByState(ctx)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err) // the scrape logs it; the other metrics are served
			return
		}
		c.counts, c.at = counts, c.now()
	}
	for st, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}
