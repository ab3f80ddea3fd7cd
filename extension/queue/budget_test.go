package queue

import (
	"strings"
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

func TestBudgetFromEnv(t *testing.T) {
	def := DefaultBudget(128)
	for _, c := range []struct {
		name    string
		env     map[string]string
		want    Budget
		errKeys []string
	}{
		{"unset", nil, def, nil},
		{"empty and blank", map[string]string{EnvMaxQueueBytes: "", EnvMaxQueueEntries: "  "}, def, nil},
		{"both set", map[string]string{EnvMaxQueueBytes: "8388608", EnvMaxQueueEntries: "100"}, Budget{8 << 20, 100}, nil},
		{"spaces trimmed", map[string]string{EnvMaxQueueBytes: " 65536 ", EnvMaxQueueEntries: "\t1\n"}, Budget{64 << 10, 1}, nil},
		{"upper bounds", map[string]string{EnvMaxQueueBytes: "1073741824", EnvMaxQueueEntries: "1000000"}, Budget{1 << 30, 1_000_000}, nil},
		{"bytes not a number", map[string]string{EnvMaxQueueBytes: "10MiB"}, def, []string{EnvMaxQueueBytes}},
		{"bytes too small", map[string]string{EnvMaxQueueBytes: "65535"}, def, []string{EnvMaxQueueBytes}},
		{"bytes too large", map[string]string{EnvMaxQueueBytes: "1073741825"}, def, []string{EnvMaxQueueBytes}},
		{"bytes negative", map[string]string{EnvMaxQueueBytes: "-1"}, def, []string{EnvMaxQueueBytes}},
		{"entries zero", map[string]string{EnvMaxQueueEntries: "0"}, def, []string{EnvMaxQueueEntries}},
		{"entries too large", map[string]string{EnvMaxQueueEntries: "1000001"}, def, []string{EnvMaxQueueEntries}},
		{"entries float", map[string]string{EnvMaxQueueEntries: "1.5"}, def, []string{EnvMaxQueueEntries}},
		{"one bad one good", map[string]string{EnvMaxQueueBytes: "x", EnvMaxQueueEntries: "7"}, Budget{def.MaxBytes, 7}, []string{EnvMaxQueueBytes}},
		{"both bad", map[string]string{EnvMaxQueueBytes: "x", EnvMaxQueueEntries: "y"}, def, []string{EnvMaxQueueBytes, EnvMaxQueueEntries}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, errs := BudgetFromEnv(func(k string) string { return c.env[k] }, 128)
			if got != c.want {
				t.Errorf("budget = %+v, want %+v", got, c.want)
			}
			if len(errs) != len(c.errKeys) {
				t.Fatalf("errors = %v, want one naming each of %v", errs, c.errKeys)
			}
			for i, err := range errs {
				if !strings.Contains(err.Error(), c.errKeys[i]) || !strings.Contains(err.Error(), "keeping") {
					t.Errorf("error %q does not name %s and the kept default", err, c.errKeys[i])
				}
			}
		})
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
