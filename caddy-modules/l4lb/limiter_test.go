package l4lb

import (
	"fmt"
	"strings"
	"testing"
)

func TestLimiterBurst(t *testing.T) {
	if b := NewLimiter(MBps(100)).Burst(); b != 10_000_000 {
		t.Fatalf("burst at 100 MB/s = %d, want a tenth of a second (10 MB)", b)
	}
	if b := NewLimiter(MBps(0.1)).Burst(); b != MinBurst {
		t.Fatalf("burst at 0.1 MB/s = %d, want the 64 KiB minimum", b)
	}
	if tokens := NewLimiter(MBps(1)).Tokens(); tokens > 1000 {
		t.Fatalf("a new bucket holds %.0f tokens, want it empty", tokens)
	}
	if !strings.Contains(fmt.Sprint(MBps(1)), "1e+06") {
		t.Fatalf("1 MB/s = %v bytes/s, want 10^6", MBps(1))
	}
}
