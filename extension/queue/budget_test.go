package queue

import (
	"testing"
)

func TestDefaultBudget(t *testing.T) {
	const MiB = 1 << 20
	for _, c := range []struct {
		memoryMB int
		want     int64
	}{
		{-1, 4 * MiB},
		{0, 4 * MiB},
		{30, 4 * MiB},                // 3 MiB → floor
		{40, 4 * MiB},                // exactly the floor
		{128, 128 * MiB / 10},        // 12.8 MiB, Lambda's default size
		{256, 256 * MiB / 10},        // 25.6 MiB
		{320, 32 * MiB},              // exactly the ceiling
		{1024, 32 * MiB},             // ceiling
		{10240, 32 * MiB},            // Lambda's maximum
		{1 << 30, 32 * MiB},          // absurd input must not overflow
		{129, int64(129) * MiB / 10}, // rounding down, not up
	} {
		b := DefaultBudget(c.memoryMB)
		if b.MaxBytes != c.want || b.MaxEntries != DefaultQueueEntries {
			t.Errorf("DefaultBudget(%d) = %+v, want {MaxBytes:%d MaxEntries:%d}", c.memoryMB, b, c.want, DefaultQueueEntries)
		}
	}
}

func TestNewFillsZeroBudget(t *testing.T) {
	if got, want := New(Budget{}).Budget(), DefaultBudget(0); got != want {
		t.Errorf("New(Budget{}).Budget() = %+v, want %+v", got, want)
	}
	if got := New(Budget{MaxBytes: 100, MaxEntries: -3}).Budget(); got != (Budget{100, DefaultQueueEntries}) {
		t.Errorf("New kept a negative entry cap: %+v", got)
	}
}
