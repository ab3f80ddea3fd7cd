package platformtel

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// benchBatches builds n deliveries of one invocation each, as Lambda sends
// them on standard Lambda: the previous invocation's report (it comes
// after the thaw), platform.start, ten function log lines in the Python
// runtime's format, and platform.runtimeDone. Each has its own request ID,
// so cycling through them never looks like duplicates.
func benchBatches(n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		id := fmt.Sprintf("%08x-4f2a-4d7e-9a3b-1c2d3e4f5a6b", i)
		prev := fmt.Sprintf("%08x-4f2a-4d7e-9a3b-1c2d3e4f5a6b", (i+n-1)%n)
		t0 := base.Add(time.Duration(i) * time.Second)
		evs := []lambdaapi.TelemetryEvent{
			reportEv(prev, t0.Add(-900*time.Millisecond), 17.5, "success", "", nil),
			startEv(id, t0, xrayA),
		}
		for j := range 10 {
			evs = append(evs, fnLog(t0.Add(time.Duration(j)*time.Millisecond),
				fmt.Sprintf("[INFO]\t%s\t%s\tprocessing item %d of the order\n", t0.Format(lambdaapi.TelemetryTimeFormat), id, j)))
		}
		evs = append(evs, runtimeDoneEv(id, t0, 17.12, "success", "", xrayA))
		b, err := json.Marshal(evs)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

const benchRecordsPerBatch = 13

// BenchmarkHandleBatch measures telemetry batch processing: the events of
// a realistic delivery handled, then Collect, as the extension does after
// each invocation. "decoded" starts from decoded events (the processor's
// own cost); "from-json" includes decoding the delivery's body as the
// listener does.
func BenchmarkHandleBatch(b *testing.B) {
	raw := benchBatches(1024)
	decoded := make([][]lambdaapi.TelemetryEvent, len(raw))
	for i, r := range raw {
		var err error
		if decoded[i], err = lambdaapi.DecodeEvents(r); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, fromJSON bool) {
		p, _ := newProc(b, Options{})
		var tr, me, lo []byte
		b.ReportAllocs()
		i := 0
		start := time.Now()
		for b.Loop() {
			evs := decoded[i%len(decoded)]
			if fromJSON {
				evs, _ = lambdaapi.DecodeEvents(raw[i%len(raw)])
			}
			for _, ev := range evs {
				p.Handle(ev)
			}
			tr, me, lo = p.Collect(tr[:0], me[:0], lo[:0])
			i++
		}
		b.ReportMetric(float64(i*benchRecordsPerBatch)/time.Since(start).Seconds(), "records/s")
		b.ReportMetric(float64(len(tr)+len(me)+len(lo)), "out-bytes/batch")
	}
	b.Run("decoded", func(b *testing.B) { run(b, false) })
	b.Run("from-json", func(b *testing.B) { run(b, true) })
}
