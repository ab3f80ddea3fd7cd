package extension

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEarlyFlushCoalescesAndStops(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	e := newEarlyFlush(time.Second, func(ctx context.Context) {
		calls.Add(1)
		started <- struct{}{}
		<-release
	})
	e.kick()
	<-started // the first flush is running
	for i := 0; i < 5; i++ {
		e.kick() // coalesce into one more
	}
	close(release)
	<-started
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.close() }()
	wg.Wait()
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d flushes, want 2: one running, and the triggers during it coalesced into one", n)
	}
	e.kick() // after close: ignored, never blocks
	e.close()
}
