package queue

// Budget bounds what the queue holds: queued requests plus requests in
// flight (taken for export and not yet settled), across all signals.
type Budget struct {
	// MaxBytes bounds the encoded size of every held request together.
	MaxBytes int64
	// MaxEntries bounds the number of held requests. It caps the
	// per-request bookkeeping that MaxBytes does not see: a flood of tiny
	// requests would otherwise cost more in metadata than in payload.
	MaxEntries int
}

// Default and accepted values. The byte clamp keeps a 128 MB function from
// spending more than a few MiB on telemetry while still holding a full
// default batch (4 MiB), and keeps a 10 GB function from hoarding data that
// a single invocation's flush could never send anyway.
const (
	MinDefaultQueueBytes = 4 << 20  // floor of the memory-derived default
	MaxDefaultQueueBytes = 32 << 20 // ceiling of the memory-derived default
	// DefaultQueueEntries is 4096: at the smallest default budget (4 MiB)
	// it still admits requests averaging 1 KiB (a handful of spans, the
	// size an SDK flushing per invocation sends), it is four default
	// batches of 1000 entries, and its bookkeeping (about 48 bytes an
	// entry, ~200 KiB when full) stays small next to the byte budget.
	DefaultQueueEntries = 4096
)

// DefaultBudget is the budget for a function with memoryMB of memory. The
// settings that override it (flush.max_queue_bytes, flush.max_queue_entries)
// are read by extension/config, which calls this for their defaults:
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE): 10 % of it in bytes, clamped to
// [4 MiB, 32 MiB], and DefaultQueueEntries entries. A non-positive
// memoryMB (unknown) gets the floor.
func DefaultBudget(memoryMB int) Budget {
	b := int64(max(memoryMB, 0)) << 20 / 10
	return Budget{
		MaxBytes:   min(max(b, MinDefaultQueueBytes), MaxDefaultQueueBytes),
		MaxEntries: DefaultQueueEntries,
	}
}
