package jobs

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/viggle-bot/viggle-bot/store"
)

// The background scheduler keeps every job this process works on in a heap ordered by when its next
// step is due, and runs due steps on a fixed pool of workers. A job in flight costs a small struct and
// its row in memory, not a goroutine with a grown stack: 10,000 jobs stay well under 8 KiB each
// (BENCHMARKS.md). Written here rather than borrowed because a job queue library (River) brings its own
// schema and no SQLite-with-mattn support, and the heap is fifty lines.

type task struct {
	job   *store.Job
	due   time.Time
	index int  // in the heap; -1 while a worker runs it
	wake  bool // woken while running: run again at once
}

type taskHeap []*task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(a, b int) bool { return h[a].due.Before(h[b].due) }
func (h taskHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].index = a
	h[b].index = b
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

type scheduler struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	signal chan struct{}
	work   chan *task

	mu      sync.Mutex
	tasks   map[string]*task
	h       taskHeap
	stopped bool
}

// Start runs the background scheduler until ctx is cancelled or Stop is called, resumes every
// unfinished job of this engine's origin, and keeps looking for jobs whose lease expired (a process
// that died elsewhere) at half the lease time.
func (e *Engine) Start(ctx context.Context) error {
	started := false
	e.once.Do(func() {
		started = true
		sctx, cancel := context.WithCancel(ctx)
		s := &scheduler{
			e: e, ctx: sctx, cancel: cancel,
			signal: make(chan struct{}, 1),
			work:   make(chan *task),
			tasks:  map[string]*task{},
		}
		e.sched.Store(s)
		s.wg.Add(2 + e.opts.Workers)
		go s.dispatch()
		for range e.opts.Workers {
			go s.worker()
		}
		go s.rescue()
	})
	if !started {
		return errors.New("jobs: engine already started")
	}
	return e.Resume(ctx)
}

// Stop cancels the jobs' steps, waits for the workers (at most until ctx ends) and releases every
// lease, so that the next process resumes at once. POSTs in flight are finished and recorded first.
func (e *Engine) Stop(ctx context.Context) error {
	s := e.sched.Load()
	if s == nil {
		return nil
	}
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("jobs: stop: %w", ctx.Err())
	}
	// Release the jobs waiting for their next step. A job whose step is still running (a POST being
	// finished and recorded) is released by its worker when the step returns.
	s.mu.Lock()
	s.stopped = true
	jobs := make([]*store.Job, 0, len(s.tasks))
	for id, t := range s.tasks {
		if t.index >= 0 {
			jobs = append(jobs, t.job)
			delete(s.tasks, id)
		}
	}
	s.mu.Unlock()
	for _, j := range jobs {
		e.release(j)
	}
	return err
}

// Resume schedules every unfinished job of this engine's origin that no live process holds.
func (e *Engine) Resume(ctx context.Context) error {
	s := e.sched.Load()
	if s == nil {
		return fmt.Errorf("jobs: resume: %w", ErrNotStarted)
	}
	list, err := e.store.Unfinished(ctx, e.opts.Origin)
	if err != nil {
		return fmt.Errorf("jobs: resume: %w", err)
	}
	now := e.opts.Now()
	for _, j := range list {
		if e.opts.RequireAck && j.State == store.StateQueued && j.AcknowledgedAt.IsZero() && now.Sub(j.CreatedAt) < e.opts.AckGrace {
			continue // being acknowledged right now by this or another process; its handler enqueues it
		}
		if s.has(j.ID) {
			continue // already scheduled here: leave its timing (and backoff) alone
		}
		if err := e.Enqueue(ctx, j.ID); err != nil && !errors.Is(err, store.ErrLeased) {
			e.log.Warn("resume job", "job", j.ID, "err", err)
		}
	}
	return nil
}

// Acknowledged records that the job's request was acknowledged (its owner saw the answer) and schedules
// it, in one call. Before Start only the record is made: Start resumes the job (logged at info, not an
// error for the caller).
func (e *Engine) Acknowledged(ctx context.Context, id string) error {
	if err := e.store.Acknowledge(ctx, id, e.opts.Now()); err != nil {
		return fmt.Errorf("jobs: record the acknowledgement of %s: %w", id, err)
	}
	switch err := e.Enqueue(ctx, id); {
	case errors.Is(err, ErrNotStarted):
		e.log.Info("job acknowledged before the engine started; it starts with the engine", "job", id)
	case err != nil:
		return fmt.Errorf("jobs: schedule acknowledged job %s: %w", id, err)
	}
	return nil
}

// Enqueue takes the job's lease and schedules its next step now. A job already scheduled here is
// woken instead.
func (e *Engine) Enqueue(ctx context.Context, id string) error {
	s := e.sched.Load()
	if s == nil {
		return fmt.Errorf("jobs: enqueue %s: %w", id, ErrNotStarted)
	}
	if s.wake(id) {
		return nil
	}
	j, err := e.claim(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[id]; ok || s.stopped {
		return nil
	}
	t := &task{job: j, due: time.Now()}
	s.tasks[id] = t
	heap.Push(&s.h, t)
	s.poke()
	return nil
}

// Active reports how many jobs this process is working on.
func (e *Engine) Active() int {
	s := e.sched.Load()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

func (s *scheduler) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.tasks[id]
	return ok
}

// wake makes a scheduled job's next step due now. It reports whether the job is scheduled here.
func (s *scheduler) wake(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return false
	}
	if t.index < 0 {
		t.wake = true
		return true
	}
	t.due = time.Now()
	heap.Fix(&s.h, t.index)
	s.poke()
	return true
}

func (s *scheduler) poke() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *scheduler) dispatch() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var ready *task
		wait := time.Hour
		if len(s.h) > 0 {
			if d := time.Until(s.h[0].due); d <= 0 {
				ready = heap.Pop(&s.h).(*task)
			} else {
				wait = d
			}
		}
		s.mu.Unlock()
		if ready != nil {
			select {
			case s.work <- ready:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-s.ctx.Done():
			return
		case <-s.signal:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (s *scheduler) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case t := <-s.work:
			s.run(t)
		}
	}
}

// run performs one step of t and puts it back in the heap unless the job is over or lost.
func (s *scheduler) run(t *task) {
	e := s.e
	next, done, err := e.advance(s.ctx, t.job)
	var derr *DeliveryError
	switch {
	case done:
	case err == nil:
	case s.ctx.Err() != nil:
		// Stopping: this step has ended (a POST in flight was finished and recorded), so the job can
		// be given back now.
		s.mu.Lock()
		delete(s.tasks, t.job.ID)
		s.mu.Unlock()
		e.release(t.job)
		return
	case errors.As(err, &derr):
		if e.outOfPatience(t.job) {
			if gerr := e.giveUp(s.ctx, t.job, err); gerr != nil {
				e.log.Error("record undeliverable job", "job", t.job.ID, "err", gerr)
			}
			done = true
		}
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrLeased), errors.Is(err, store.ErrNotFound):
		// Another process has the job now (our lease expired): leave it to them.
		e.log.Warn("lost a job", "job", t.job.ID, "err", err)
		done = true
	default:
		e.log.Error("job step failed; will retry", "job", t.job.ID, "err", err)
		next = e.backoff(t.job.Attempts + 2)
		// The step may have changed the job in memory without committing it: go on from the row.
		if fresh, gerr := e.store.Get(s.ctx, t.job.ID); gerr == nil {
			t.job = fresh
		}
	}
	s.mu.Lock()
	if done {
		e.streaks.Delete(t.job.ID)
		delete(s.tasks, t.job.ID)
		s.mu.Unlock()
		e.release(t.job)
		return
	}
	if s.stopped {
		delete(s.tasks, t.job.ID)
		s.mu.Unlock()
		e.release(t.job)
		return
	}
	t.due = time.Now().Add(next)
	if t.wake {
		t.due, t.wake = time.Now(), false
	}
	heap.Push(&s.h, t)
	s.poke()
	s.mu.Unlock()
}

// rescue periodically resumes jobs whose lease has expired, such as those of a process that died on
// another machine sharing the database.
func (s *scheduler) rescue() {
	defer s.wg.Done()
	t := time.NewTicker(s.e.opts.LeaseTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.e.Resume(s.ctx); err != nil && s.ctx.Err() == nil {
				s.e.log.Warn("rescue", "err", err)
			}
		}
	}
}
