package lambdasim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// DeliveryPolicy changes how one telemetry event type reaches subscribers.
// Tests use it to model a slow or lossy platform; captured telemetry is never
// affected.
type DeliveryPolicy struct {
	delay    time.Duration
	suppress bool
}

// Deliver is the normal policy.
func Deliver() DeliveryPolicy { return DeliveryPolicy{} }

// Delay holds events of the type back from subscribers for d after they are
// produced.
func Delay(d time.Duration) DeliveryPolicy { return DeliveryPolicy{delay: d} }

// Suppress never delivers events of the type to subscribers.
func Suppress() DeliveryPolicy { return DeliveryPolicy{suppress: true} }

// maxCaptured bounds the in-memory capture of telemetry kept for reports and
// assertions; the oldest events go first.
const maxCaptured = 200_000

// Delivery tuning. Lambda's own retry schedule is not documented; these keep
// a dead subscriber from stalling anything for long.
const (
	deliveryAttempts       = 5
	deliveryAttemptTimeout = 2 * time.Second
	deliveryBackoff        = 20 * time.Millisecond
	logsDroppedReason      = "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."
)

// hub produces telemetry events, captures them, and delivers them to
// subscribers.
type hub struct {
	log *slog.Logger
	// ctx ends when the hub closes, aborting deliveries in flight.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// captured holds every event; an event's Record stays nil until someone
	// reads the capture (or a subscriber needs the bytes), with the typed
	// record waiting in pending at the same index. Encoding is what an
	// invocation's records cost most, so it stays off the invoke path.
	captured []lambdaapi.TelemetryEvent
	pending  []any
	encoded  int // captured[:encoded] all have their Record
	dropped  int // captured events discarded for the bound
	changed  chan struct{}
	subs     map[string]*subscriber // by extension id
	policies map[string]DeliveryPolicy
	paused   bool // the environment is frozen
	flushNow bool // shutting down: deliver without waiting for timeoutMs
	closed   bool
	wg       sync.WaitGroup
}

func newHub(log *slog.Logger) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{log: log, ctx: ctx, cancel: cancel, changed: make(chan struct{}), subs: map[string]*subscriber{}, policies: map[string]DeliveryPolicy{}}
}

// subscriber is one extension's subscription and its delivery buffer.
type subscriber struct {
	name   string
	req    lambdaapi.SubscribeRequest
	types  map[lambdaapi.TelemetryType]bool
	target string // http URL or tcp address on loopback
	client *http.Client
	conn   net.Conn // TCP only, owned by the delivery goroutine

	buf            [][]byte // encoded events
	bufBytes       int
	oldest         time.Time
	inflight       bool
	droppedRecords int64
	droppedBytes   int64
	wake           chan struct{}
	done           chan struct{}
	stopped        bool
}

func (h *hub) broadcastLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// emit produces one event at time t. record is a record struct or a
// json.RawMessage; it is encoded at most once.
func (h *hub) emit(t time.Time, typ string, record any) {
	ev := lambdaapi.TelemetryEvent{Time: t, Type: typ}
	if raw, ok := record.(json.RawMessage); ok {
		ev.Record, record = raw, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	pol := h.policies[typ]
	if len(h.subs) > 0 && !pol.suppress {
		if ev.Record == nil {
			ev.Record, record = h.encode(typ, record), nil
		}
		if enc, err := json.Marshal(ev); err == nil {
			if pol.delay > 0 {
				time.AfterFunc(pol.delay, func() {
					h.mu.Lock()
					defer h.mu.Unlock()
					h.enqueueLocked(typ, enc)
				})
			} else {
				h.enqueueLocked(typ, enc)
			}
		}
	}
	if len(h.captured) >= maxCaptured {
		h.captured, h.pending = h.captured[1:], h.pending[1:]
		h.encoded = max(0, h.encoded-1)
		h.dropped++
	}
	h.captured = append(h.captured, ev)
	h.pending = append(h.pending, record)
	h.broadcastLocked()
}

func (h *hub) encode(typ string, record any) json.RawMessage {
	b, err := json.Marshal(record)
	if err != nil {
		h.log.Error("encode telemetry record", "type", typ, "err", err)
		return json.RawMessage("null")
	}
	return b
}

// capturedLocked returns the capture with every record encoded.
func (h *hub) capturedLocked() []lambdaapi.TelemetryEvent {
	for i := h.encoded; i < len(h.captured); i++ {
		if h.captured[i].Record == nil {
			h.captured[i].Record = h.encode(h.captured[i].Type, h.pending[i])
		}
		h.pending[i] = nil
	}
	h.encoded = len(h.captured)
	return h.captured
}

func (h *hub) enqueueLocked(typ string, enc []byte) {
	if h.closed {
		return
	}
	stream := lambdaapi.StreamOf(typ)
	for _, s := range h.subs {
		if !s.types[stream] {
			continue
		}
		s.add(enc, stream == lambdaapi.TypePlatform)
	}
}

// add buffers enc. A subscriber that has fallen behind by twice its batch
// limits loses log records (counted, then reported with platform.logsDropped);
// platform records are kept up to a hard bound of four times.
func (s *subscriber) add(enc []byte, platform bool) {
	limItems, limBytes := 2*s.req.Buffering.MaxItems, 2*s.req.Buffering.MaxBytes
	if platform {
		limItems, limBytes = 2*limItems, 2*limBytes
	}
	if len(s.buf) >= limItems || s.bufBytes+len(enc) > limBytes {
		s.droppedRecords++
		s.droppedBytes += int64(len(enc))
		return
	}
	if len(s.buf) == 0 {
		s.oldest = time.Now()
	}
	s.buf = append(s.buf, enc)
	s.bufBytes += len(enc)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// subscribe adds or replaces the subscription of extension id.
func (h *hub) subscribe(id, name string, req lambdaapi.SubscribeRequest) error {
	s := &subscriber{
		name:  name,
		req:   req,
		types: map[lambdaapi.TelemetryType]bool{},
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	for _, t := range req.Types {
		s.types[t] = true
	}
	switch req.Destination.Protocol {
	case lambdaapi.ProtocolHTTP:
		u, err := url.Parse(req.Destination.URI)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", name, err)
		}
		// sandbox.localdomain is the environment itself: here, loopback.
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
		s.target = u.String()
		s.client = &http.Client{Timeout: deliveryAttemptTimeout}
	case lambdaapi.ProtocolTCP:
		s.target = net.JoinHostPort("127.0.0.1", strconv.Itoa(req.Destination.Port))
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fmt.Errorf("subscribe %s: environment closed", name)
	}
	if old := h.subs[id]; old != nil {
		old.stopped = true
		select {
		case old.wake <- struct{}{}:
		default:
		}
	}
	h.subs[id] = s
	h.wg.Add(1)
	h.mu.Unlock()
	go h.deliver(s)
	return nil
}

// unsubscribeAll stops every delivery goroutine, used when an environment is
// torn down. Buffered events are discarded: their consumers are gone.
func (h *hub) unsubscribeAll() {
	h.mu.Lock()
	for id, s := range h.subs {
		s.stopped = true
		select {
		case s.wake <- struct{}{}:
		default:
		}
		delete(h.subs, id)
	}
	h.broadcastLocked()
	h.mu.Unlock()
}

// setPaused pauses or resumes delivery; pausing waits (bounded by ctx) until
// no delivery is in flight, so nothing reaches a process that is about to be
// frozen.
func (h *hub) setPaused(ctx context.Context, paused bool) {
	h.mu.Lock()
	h.paused = paused
	h.broadcastLocked()
	for _, s := range h.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
	if !paused {
		return
	}
	h.waitLocked(ctx, func() bool {
		for _, s := range h.subs {
			if s.inflight {
				return false
			}
		}
		return true
	})
}

// pauseWith emits a final event and pauses delivery in one step, so the
// event cannot slip out before the freeze.
func (h *hub) pauseWith(t time.Time, typ string, record any) {
	h.mu.Lock()
	h.paused = true
	h.mu.Unlock()
	h.emit(t, typ, record)
}

// setFlushNow makes delivery ignore timeoutMs (used during shutdown).
func (h *hub) setFlushNow(v bool) {
	h.mu.Lock()
	h.flushNow = v
	for _, s := range h.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

// waitLocked waits until cond holds (evaluated under h.mu) or ctx ends.
func (h *hub) waitLocked(ctx context.Context, cond func() bool) bool {
	for {
		h.mu.Lock()
		ok, ch := cond(), h.changed
		h.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// deliver is the delivery loop of one subscriber.
func (h *hub) deliver(s *subscriber) {
	defer h.wg.Done()
	defer func() {
		if s.conn != nil {
			s.conn.Close()
		}
		close(s.done)
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	timeout := time.Duration(s.req.Buffering.TimeoutMs) * time.Millisecond
	for {
		h.mu.Lock()
		if s.stopped || h.closed {
			h.mu.Unlock()
			return
		}
		var batch [][]byte
		var wait time.Duration = -1
		if !h.paused && len(s.buf) > 0 {
			due := s.oldest.Add(timeout)
			if h.flushNow || len(s.buf) >= s.req.Buffering.MaxItems || s.bufBytes >= s.req.Buffering.MaxBytes || !time.Now().Before(due) {
				batch = s.takeLocked()
			} else {
				wait = time.Until(due)
			}
		}
		if batch != nil {
			s.inflight = true
		}
		h.mu.Unlock()

		if batch == nil {
			if wait >= 0 {
				timer.Reset(wait)
			}
			select {
			case <-s.wake:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		h.send(s, batch)
		h.mu.Lock()
		s.inflight = false
		h.broadcastLocked()
		h.mu.Unlock()
	}
}

// takeLocked removes one batch (at most maxItems events and about maxBytes)
// from the buffer and, when records were dropped, appends the logsDropped
// event that says so.
func (s *subscriber) takeLocked() [][]byte {
	n, size := 0, 0
	for n < len(s.buf) && n < s.req.Buffering.MaxItems {
		if n > 0 && size+len(s.buf[n]) > s.req.Buffering.MaxBytes {
			break
		}
		size += len(s.buf[n])
		n++
	}
	batch := make([][]byte, n, n+1)
	copy(batch, s.buf[:n])
	s.buf = append(s.buf[:0], s.buf[n:]...)
	s.bufBytes -= size
	if len(s.buf) > 0 {
		s.oldest = time.Now()
	}
	if s.droppedRecords > 0 && s.types[lambdaapi.TypePlatform] {
		rec, _ := json.Marshal(lambdaapi.LogsDropped{DroppedBytes: s.droppedBytes, DroppedRecords: s.droppedRecords, Reason: logsDroppedReason})
		enc, _ := json.Marshal(lambdaapi.TelemetryEvent{Time: time.Now(), Type: lambdaapi.EventLogsDropped, Record: rec})
		batch = append(batch, enc)
		s.droppedRecords, s.droppedBytes = 0, 0
	}
	return batch
}

// send delivers one batch, retrying with backoff. A batch that cannot be
// delivered is dropped and logged: the platform does not wait forever either.
func (h *hub) send(s *subscriber, batch [][]byte) {
	var body []byte
	if s.client != nil {
		body = append([]byte{'['}, bytes.Join(batch, []byte{','})...)
		body = append(body, ']')
	} else {
		body = append(bytes.Join(batch, []byte{'\n'}), '\n')
	}
	backoff := deliveryBackoff
	var err error
	for attempt := 0; attempt < deliveryAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(backoff):
			case <-h.ctx.Done():
				return
			}
			backoff *= 2
		}
		h.mu.Lock()
		stop := s.stopped || h.closed
		h.mu.Unlock()
		if stop {
			return
		}
		if s.client != nil {
			err = h.postHTTP(s, body)
		} else {
			err = h.writeTCP(s, body)
		}
		if err == nil {
			return
		}
	}
	h.log.Warn("telemetry delivery failed; batch dropped", "subscriber", s.name, "events", len(batch), "err", err)
}

func (h *hub) postHTTP(s *subscriber, body []byte) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, s.target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("subscriber answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func (h *hub) writeTCP(s *subscriber, body []byte) error {
	if s.conn == nil {
		c, err := net.DialTimeout("tcp", s.target, deliveryAttemptTimeout)
		if err != nil {
			return err
		}
		s.conn = c
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(deliveryAttemptTimeout))
	if _, err := s.conn.Write(body); err != nil {
		s.conn.Close()
		s.conn = nil
		return err
	}
	return nil
}

// close stops all delivery and waits for the delivery goroutines.
func (h *hub) close() {
	h.cancel()
	h.mu.Lock()
	h.closed = true
	for _, s := range h.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	h.broadcastLocked()
	h.mu.Unlock()
	h.wg.Wait()
}

// snapshot returns a copy of the captured events.
func (h *hub) snapshot() []lambdaapi.TelemetryEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]lambdaapi.TelemetryEvent, len(h.captured))
	copy(out, h.capturedLocked())
	return out
}
