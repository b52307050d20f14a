package l4lb

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"sync/atomic"
)

// Algorithm names accepted in configuration.
const (
	RoundRobin = "roundrobin"
	LeastConn  = "leastconn"
	Hashing    = "hashing"
)

// Selector picks a backend among candidates (healthy, not yet tried for
// this connection). It is never called with no candidates.
type Selector interface {
	Select(candidates []*Backend, client netip.Addr) *Backend
}

// NewSelector returns the selector for an algorithm name.
func NewSelector(algorithm string) (Selector, error) {
	switch algorithm {
	case RoundRobin:
		return &roundRobin{}, nil
	case LeastConn:
		return &leastConn{}, nil
	case Hashing:
		return rendezvous{}, nil
	}
	return nil, fmt.Errorf("unknown algorithm %q (want roundrobin, leastconn or hashing)", algorithm)
}

// roundRobin takes each candidate in turn.
type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Select(c []*Backend, _ netip.Addr) *Backend {
	return c[(r.next.Add(1)-1)%uint64(len(c))]
}

// leastConn takes the candidate with the fewest active connections; ties
// are broken in turn, so equal backends share new connections evenly.
type leastConn struct{ next atomic.Uint64 }

func (l *leastConn) Select(c []*Backend, _ netip.Addr) *Backend {
	start := int((l.next.Add(1) - 1) % uint64(len(c)))
	best := c[start]
	bestActive := best.Active()
	for i := 1; i < len(c); i++ {
		b := c[(start+i)%len(c)]
		if a := b.Active(); a < bestActive {
			best, bestActive = b, a
		}
	}
	return best
}

// rendezvous is highest-random-weight hashing of the client IP (not its
// port): a client always lands on the same backend while that backend is
// healthy, and when a backend leaves only its own clients move.
type rendezvous struct{}

func (rendezvous) Select(c []*Backend, client netip.Addr) *Backend {
	ip := client.Unmap().AsSlice()
	var best *Backend
	var bestScore uint64
	for _, b := range c {
		h := fnv.New64a()
		h.Write(ip)
		h.Write([]byte{0})
		h.Write([]byte(b.Addr))
		if s := mix64(h.Sum64()); best == nil || s > bestScore {
			best, bestScore = b, s
		}
	}
	return best
}

// mix64 is SplitMix64's finaliser: FNV's low bits are weak for short inputs
// that differ only at the end, and the max over backends needs every bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}
