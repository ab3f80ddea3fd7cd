package extension

import (
	"context"
	"sync"
	"time"
)

// earlyFlush exports while an invocation runs once a full batch is waiting,
// instead of letting a busy invocation pile its telemetry up until it ends:
// the queue stays small and the end-of-invocation flush stays short. One
// flush runs at a time; triggers during it coalesce into one more.
type earlyFlush struct {
	flush  func(ctx context.Context)
	budget time.Duration

	trigger chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newEarlyFlush(budget time.Duration, flush func(ctx context.Context)) *earlyFlush {
	e := &earlyFlush{flush: flush, budget: budget, trigger: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go e.run()
	return e
}

// kick asks for a flush; it never blocks.
func (e *earlyFlush) kick() {
	select {
	case e.trigger <- struct{}{}:
	default:
	}
}

func (e *earlyFlush) run() {
	defer close(e.done)
	for {
		select {
		case <-e.stop:
			return
		case <-e.trigger:
			ctx, cancel := context.WithTimeout(context.Background(), e.budget)
			e.flush(ctx)
			cancel()
		}
	}
}

// close stops it and waits for a flush in progress (bounded by its budget).
func (e *earlyFlush) close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}
