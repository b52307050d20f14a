package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkEventLatency measures on the running stack (bench/events.sh runs
// it while Locust loads the platform): post → friend's live feed delivery,
// and account deletion → its last eventual effect. It reports p50 and p99.
// Run with -benchtime 1x; EVENTS_SAMPLES (default 50) samples of each.
func BenchmarkEventLatency(b *testing.B) {
	samples := 50
	if v := envInt("EVENTS_SAMPLES"); v > 0 {
		samples = v
	}
	c, base := gateway(b)
	for b.Loop() {
		reader, writer := benchAccount(b, c, base, "benchreader"), benchAccount(b, c, base, "benchwriter")
		benchCall(b, c, base, "POST", "/api/friends", reader.token, fmt.Sprintf(`{"friend_uuid":%q}`, writer.id), 200)
		lines := benchStream(b, c, base, reader.token)
		var delivery []time.Duration
		for i := range samples {
			content := fmt.Sprintf("bench %d %d", i, time.Now().UnixNano())
			sent := time.Now()
			benchCall(b, c, base, "POST", "/api/posts", writer.token, fmt.Sprintf(`{"content":%q}`, content), 201)
			for line := range lines {
				if strings.HasPrefix(line, "data: ") && strings.Contains(line, content) {
					delivery = append(delivery, time.Since(sent))
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		report(b, "post→stream", delivery)

		var deletion []time.Duration
		for range samples / 2 {
			gone, friend := benchAccount(b, c, base, "benchgone"), benchAccount(b, c, base, "benchfriend")
			benchCall(b, c, base, "POST", "/api/friends", gone.token, fmt.Sprintf(`{"friend_uuid":%q}`, friend.id), 200)
			benchCall(b, c, base, "POST", "/api/friends", friend.token, fmt.Sprintf(`{"friend_uuid":%q}`, gone.id), 200)
			benchCall(b, c, base, "POST", "/api/posts", gone.token, `{"content":"bench"}`, 201)
			start := time.Now()
			benchCall(b, c, base, "DELETE", "/api/account", gone.token, fmt.Sprintf(`{"password":%q}`, gone.password), 202)
			for deadline := start.Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatal("deletion effects not complete after 30s")
				}
				profile, _ := send(c, base, "GET", "/api/profile/"+gone.id, friend.token, nil)
				friends, _ := send(c, base, "GET", "/api/friends", friend.token, nil)
				posts, _ := send(c, base, "GET", "/api/posts/"+gone.id, friend.token, nil)
				token, _ := send(c, base, "GET", "/api/profile/me", gone.token, nil)
				if profile.status == 404 && friends.status == 200 && !strings.Contains(string(friends.raw), gone.id) &&
					string(posts.raw) == "[]\n" && token.status == 401 {
					deletion = append(deletion, time.Since(start))
					break
				}
			}
		}
		report(b, "deletion→last", deletion)
	}
}

func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("%s: no samples (the stream ended?)", name)
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), name+"_p50_ms")
	b.ReportMetric(q(0.99), name+"_p99_ms")
	b.Logf("%s: n=%d p50=%.1fms p99=%.1fms max=%.1fms", name, len(ds), q(0.5), q(0.99), q(1))
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func benchCall(b *testing.B, c *http.Client, base, method, path, token, body string, status int) reply {
	b.Helper()
	r, err := send(c, base, method, path, token, body)
	if err != nil {
		b.Fatal(err)
	}
	if r.status != status {
		b.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
	}
	return r
}

func benchAccount(b *testing.B, c *http.Client, base, name string) account {
	b.Helper()
	a := account{email: fmt.Sprintf("bench-%s-%d@example.test", name, time.Now().UnixNano()), password: "bench password " + name}
	creds := fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password)
	var reg struct{ UUID string }
	benchCall(b, c, base, "POST", "/api/auth/register", "", creds, 201).decode(b, &reg)
	a.id = reg.UUID
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	benchCall(b, c, base, "POST", "/api/auth/login", "", creds, 200).decode(b, &tok)
	a.token = tok.AccessToken
	benchCall(b, c, base, "POST", "/api/profile/me", a.token, fmt.Sprintf(`{"username":%q}`, name), 200)
	return a
}

// benchStream opens the live feed and returns its lines.
func benchStream(b *testing.B, c *http.Client, base, token string) <-chan string {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Transport: c.Transport}).Do(req)
	if err != nil || res.StatusCode != 200 {
		cancel()
		b.Fatalf("stream: %v %v", err, res)
	}
	lines := make(chan string, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
	return lines
}
