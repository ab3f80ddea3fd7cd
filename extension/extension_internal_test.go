package extension

import (
	"testing"
	"time"
)

func TestFallbackCostScalesWithTheCPUShare(t *testing.T) {
	for mem, want := range map[string]time.Duration{
		"1769": 30 * time.Millisecond, "10240": 30 * time.Millisecond, "": 30 * time.Millisecond, "x": 30 * time.Millisecond,
		"128": 30 * time.Millisecond * 1769 / 128,
	} {
		if got := fallbackCost(mem); got != want {
			t.Errorf("fallbackCost(%q) = %v, want %v", mem, got, want)
		}
	}
}
