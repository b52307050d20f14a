package ratelimit

import (
	"testing"
	"time"
)

// BenchmarkAllow is the limiter's cost per request of one busy client.
func BenchmarkAllow(b *testing.B) {
	l, err := New(Policy{Events: 1_000_000_000, Window: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l.Allow("3b1be25a-d7eb-4e49-9a87-adf1364f4dca")
	}
}
