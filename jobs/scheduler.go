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
	left    int // jobs given back unfinished while stopping (leave): the next start resumes them
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

// Stop stops the background scheduler and returns only once every one of its goroutines has returned, so
// that the caller may close the database right after. It cancels the jobs' steps; the only step that
// outlives the cancel is a POST in flight and the commit of its answer (with telling the owner when it
// ended the job), bounded by Options.SubmitTimeout and a few commits. When ctx ends first, Stop logs
// that it is waiting and still waits: its error then says it took longer than ctx allowed. Every job
// this process held is released (the next process resumes it at once) and forgotten by the Notifier.
// Enqueue refuses new jobs from the moment Stop is called.
func (e *Engine) Stop(ctx context.Context) error {
	s := e.sched.Load()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("jobs: stop: took longer than allowed (%w): waited for the steps in flight", ctx.Err())
		e.log.Warn("stop: waiting for the steps in flight (a POST and the record of its answer)", "active", e.Active())
		<-done
	}
	// No worker runs any more: release every job still here, whether waiting in the heap or taken off it
	// by the dispatcher when the cancel came.
	s.mu.Lock()
	left := make([]*task, 0, len(s.tasks))
	for _, t := range s.tasks {
		left = append(left, t)
	}
	s.mu.Unlock()
	for _, t := range left {
		s.leave(t)
	}
	s.mu.Lock()
	n := s.left
	s.mu.Unlock()
	e.log.Info("engine stopped; the jobs left unfinished resume at the next start", "unfinished", n)
	return err
}

// drop ends this process's work on a job: it leaves the scheduler, its lease is released and the
// Notifier forgets it. It reports whether the job was still here (false: dropped already).
func (s *scheduler) drop(t *task) bool {
	s.mu.Lock()
	if s.tasks[t.job.ID] != t {
		s.mu.Unlock()
		return false
	}
	delete(s.tasks, t.job.ID)
	if t.index >= 0 {
		heap.Remove(&s.h, t.index)
	}
	s.mu.Unlock()
	s.e.streaks.Delete(t.job.ID)
	s.e.release(t.job)
	s.e.notifier.Forget(t.job.ID)
	return true
}

// leave drops a job that is not over because the scheduler stops, and counts it for Stop's log line.
func (s *scheduler) leave(t *task) {
	if s.drop(t) {
		s.mu.Lock()
		s.left++
		s.mu.Unlock()
	}
}

// Resume schedules every unfinished job of this engine's origin that no live process holds (of the
// guilds of Options.OwnsGuild).
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
		if e.opts.OwnsGuild != nil && !e.opts.OwnsGuild(j.GuildID) {
			continue // another shard's process resumes it
		}
		if e.opts.RequireAck && j.State == store.StateQueued && j.AcknowledgedAt.IsZero() && now.Sub(j.CreatedAt) < e.opts.AckGrace {
			continue // being acknowledged right now by this or another process; its handler enqueues it
		}
		if s.has(j.ID) {
			continue // already scheduled here: leave its timing (and backoff) alone
		}
		if err := e.Enqueue(ctx, j.ID); err != nil && !errors.Is(err, store.ErrLeased) && !errors.Is(err, ErrStopped) {
			j.Logger(e.log).Warn("resume job", "err", err)
		}
	}
	return nil
}

// Acknowledged records that the job's request was acknowledged (its owner saw the answer) and schedules
// it, in one call. Before Start, or once Stop was called, only the record is made: Start (of this or the
// next process) resumes the job; that is logged at info, not an error for the caller.
func (e *Engine) Acknowledged(ctx context.Context, id string) error {
	if err := e.store.Acknowledge(ctx, id, e.opts.Now()); err != nil {
		return fmt.Errorf("jobs: record the acknowledgement of %s: %w", id, err)
	}
	switch err := e.Enqueue(ctx, id); {
	case errors.Is(err, ErrNotStarted):
		e.logFor(ctx, id).Info("job acknowledged before the engine started; it starts with the engine")
	case errors.Is(err, ErrStopped):
		e.logFor(ctx, id).Info("job acknowledged while the engine stops; the next start resumes it")
	case err != nil:
		// The acknowledgement is recorded, so the job is not lost: the rescuer resumes it within
		// half a lease. Its owner must not read that nothing will happen.
		e.logFor(ctx, id).Warn("could not schedule an acknowledged job now; the rescuer will", "err", err)
	}
	return nil
}

// Enqueue takes the job's lease and schedules its next step now. A job already scheduled here is
// woken instead. Before Start it returns ErrNotStarted, once Stop was called ErrStopped, and in both
// cases leaves the job's lease alone.
func (e *Engine) Enqueue(ctx context.Context, id string) error {
	s := e.sched.Load()
	if s == nil {
		return fmt.Errorf("jobs: enqueue %s: %w", id, ErrNotStarted)
	}
	if s.isStopped() {
		return fmt.Errorf("jobs: enqueue %s: %w", id, ErrStopped)
	}
	if s.wake(id) {
		return nil
	}
	j, err := e.claim(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.tasks[id]; ok {
		// Scheduled meanwhile by another caller (Resume and an acknowledgement): the lease is that
		// task's, and a worker may be in the middle of its POST. Never release it here.
		s.mu.Unlock()
		return nil
	}
	if s.stopped { // Stop began while the lease was being claimed, and no task holds it: give it back
		s.mu.Unlock()
		e.release(j)
		return fmt.Errorf("jobs: enqueue %s: %w", id, ErrStopped)
	}
	defer s.mu.Unlock()
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

// QueueDepth reports how many of this process's jobs have a step due now that no worker has taken yet
// (Options.Workers are all busy): above zero for long, the engine is behind.
func (e *Engine) QueueDepth() int {
	s := e.sched.Load()
	if s == nil {
		return 0
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.h {
		if !t.due.After(now) {
			n++
		}
	}
	return n
}

func (s *scheduler) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
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
		s.leave(t)
		return
	case errors.As(err, &derr):
		// A delivery out of patience ends undeliverable here; telling the owner of an outcome gives up
		// in its own next attempt (tell), which records it: the job must not be dropped unclosed.
		if t.job.State == store.StateDelivering && e.outOfPatience(t.job) {
			if gerr := e.giveUp(s.ctx, t.job, err); gerr != nil {
				t.job.Logger(e.log).Error("record undeliverable job", "err", gerr)
			}
			done = true
		}
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrLeased), errors.Is(err, store.ErrNotFound):
		// Another process has the job now (our lease expired): leave it to them.
		t.job.Logger(e.log).Warn("lost a job", "err", err)
		done = true
	default:
		t.job.Logger(e.log).Error("job step failed; will retry", "err", err)
		next = e.backoff(t.job.Attempts + 2)
		// The step may have changed the job in memory without committing it: go on from the row.
		if fresh, gerr := e.store.Get(s.ctx, t.job.ID); gerr == nil {
			t.job = fresh
		}
	}
	s.mu.Lock()
	if done || s.stopped {
		s.mu.Unlock()
		if done {
			s.drop(t)
		} else {
			s.leave(t)
		}
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
