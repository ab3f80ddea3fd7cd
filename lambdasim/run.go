package lambdasim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxEventsFile bounds an events file, as Lambda bounds one payload.
const maxEventsFile = 64 << 20

// ReadEvents reads invocation events: either one JSON document (which may
// span lines) or JSON lines, one event per line. Blank lines are skipped.
// An empty input is one empty object.
func ReadEvents(r io.Reader) ([][]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxEventsFile+1))
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if len(data) > maxEventsFile {
		return nil, fmt.Errorf("read events: more than %d bytes", maxEventsFile)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return [][]byte{[]byte("{}")}, nil
	}
	if json.Valid(trimmed) {
		return [][]byte{trimmed}, nil
	}
	var events [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxEventsFile)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("read events: line %d is not JSON (the file must hold one JSON event or one event per line)", n)
		}
		events = append(events, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return events, nil
}

// RunOptions says what Run invokes.
type RunOptions struct {
	// Events are cycled through, one per invocation. Empty means {}.
	Events [][]byte
	// Invocations is how many to run; 0 means one per event.
	Invocations int
	// Idle is the pause between invocations, during which the environment
	// is frozen.
	Idle time.Duration
	// OnResult, if set, hears of each result as it arrives.
	OnResult func(*Result)
}

// Run invokes the function as opts says. It stops early, without error, when
// ctx ends (e.g. on SIGINT): the caller then shuts down as usual. With
// MaxConcurrency set (Managed Instances), up to that many invocations run at
// once; results keep the order of their start.
func (s *Sim) Run(ctx context.Context, opts RunOptions) ([]*Result, error) {
	events := opts.Events
	if len(events) == 0 {
		events = [][]byte{[]byte("{}")}
	}
	n := opts.Invocations
	if n <= 0 {
		n = len(events)
	}
	width := max(1, s.cfg.MaxConcurrency)
	var (
		mu       sync.Mutex
		results  = make([]*Result, n)
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, width)
	)
	started := 0
	for i := 0; i < n; i++ {
		if i > 0 && opts.Idle > 0 {
			t := time.NewTimer(opts.Idle)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		mu.Lock()
		stop := ctx.Err() != nil || firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		p, err := s.InvokeAsync(ctx, Request{Payload: events[i%len(events)]})
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				firstErr = fmt.Errorf("invocation %d: %w", i+1, err)
			}
			break
		}
		started++
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			// The invocation is bounded by the function timeout; waiting
			// without ctx lets an interrupted run still report it.
			res, _ := p.Wait(context.Background())
			mu.Lock()
			results[i] = res
			mu.Unlock()
			if opts.OnResult != nil {
				opts.OnResult(res)
			}
		}(i)
		if width == 1 {
			wg.Wait()
		}
	}
	wg.Wait()
	return results[:started], firstErr
}
