package jobs

// Queued reports how many of the jobs this process works on wait in the scheduler's heap (not taken
// off it by the dispatcher, nor running), for tests that must know where a job is.
func (e *Engine) Queued() int {
	s := e.sched.Load()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.h)
}
