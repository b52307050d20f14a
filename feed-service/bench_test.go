package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// BenchmarkFeedLatency measures GET /feed for 10 to 1,000 friends against
// local upstreams that take a fixed time per call, with the batch endpoints
// (api=batch) and without (api=each: the original services), and reports
// the p50 and p99 latency. bench/feed.sh measures the real services. Run:
//
//	go test -run '^$' -bench FeedLatency -benchtime 200x ./feed-service/
func BenchmarkFeedLatency(b *testing.B) {
	const perCall = 5 * time.Millisecond
	for _, mode := range []string{"each", "batch"} {
		for _, n := range []int{10, 100, 500, 1000} {
			benchFeed(b, mode, n, perCall)
		}
	}
}

func benchFeed(b *testing.B, mode string, n int, perCall time.Duration) {
	b.Run(fmt.Sprintf("api=%s/friends=%d", mode, n), func(b *testing.B) {
		f := newFake()
		f.batch = mode == "batch"
		me, _ := world(f, n, 10)
		slow := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(perCall)
				h.ServeHTTP(w, r)
			})
		}
		users := httptest.NewServer(slow(f.users()))
		posts := httptest.NewServer(slow(f.postsHandler()))
		defer users.Close()
		defer posts.Close()
		cfg, err := configFromEnv(func(_, def string) string { return def })
		if err != nil {
			b.Fatal(err)
		}
		cfg.UserLB, cfg.PostLB = users.URL, posts.URL
		feed := httptest.NewServer(newHandler(b, cfg))
		defer feed.Close()
		client := &http.Client{Timeout: 10 * time.Second}
		get := func() time.Duration {
			req, _ := http.NewRequest("GET", feed.URL+"/feed", nil)
			req.Header.Set("X-User-ID", me)
			start := time.Now()
			res, err := client.Do(req)
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("feed: %v %v", err, res)
			}
			res.Body.Close()
			return time.Since(start)
		}
		get() // warm the connection pools
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			lat = append(lat, get())
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(n)*perCall.Seconds()*1000, "serial-ms")
	})
}
