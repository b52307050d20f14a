package feed

import (
	"container/heap"
	"slices"
	"time"
)

// Post is one post as the services send it; Timestamp is kept as received
// and Time is its parsed value for ordering.
type Post struct {
	AuthorUUID string    `json:"author_uuid"`
	Content    string    `json:"content"`
	Timestamp  string    `json:"timestamp"`
	Time       time.Time `json:"-"`
}

// newer orders posts newest first; ties go by author, then by the order the
// author's service listed them, so the same data always gives the same feed.
func newer(a, b Post, ai, bi int) bool {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c > 0
	}
	if a.AuthorUUID != b.AuthorUUID {
		return a.AuthorUUID < b.AuthorUUID
	}
	return ai < bi
}

// sortNewestFirst sorts one author's posts (services that ignore ?limit or
// do not sort are tolerated) and keeps at most limit.
func sortNewestFirst(posts []Post, limit int) []Post {
	slices.SortStableFunc(posts, func(a, b Post) int { return b.Time.Compare(a.Time) })
	return posts[:min(limit, len(posts))]
}

// cursor is the next post of one author's list in the merge.
type cursor struct {
	list []Post
	i    int
}

type mergeHeap []*cursor

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	return newer(h[i].list[h[i].i], h[j].list[h[j].i], h[i].i, h[j].i)
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *mergeHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// mergeNewest k-way merges lists (each newest first) into the limit newest
// posts overall: O(limit · log k) after O(k) to build the heap.
func mergeNewest(lists [][]Post, limit int) []Post {
	h := make(mergeHeap, 0, len(lists))
	for _, l := range lists {
		if len(l) > 0 {
			h = append(h, &cursor{list: l})
		}
	}
	heap.Init(&h)
	out := make([]Post, 0, limit)
	for len(out) < limit && h.Len() > 0 {
		c := h[0]
		out = append(out, c.list[c.i])
		c.i++
		if c.i == len(c.list) {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out
}
