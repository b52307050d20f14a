package l4lb

import "testing"

func TestObserveCountsConsecutiveResults(t *testing.T) {
	b := NewBackend("x:1")
	seq := []struct {
		ok     bool
		wantUp bool
	}{{false, true}, {false, true}, {true, true}, {false, true}, {false, true}, {false, false},
		{true, false}, {false, false}, {true, false}, {true, true}}
	for i, s := range seq {
		b.observe(s.ok, 3, 2)
		if b.Up() != s.wantUp {
			t.Fatalf("step %d (ok=%v): up=%v, want %v", i, s.ok, b.Up(), s.wantUp)
		}
	}
	if !b.markDown() || b.Up() {
		t.Fatal("markDown did not take the backend out")
	}
}
