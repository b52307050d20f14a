package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tokens name their key: compose's first start made a keys file whose one
// key has the secret's 16-hex-digit SHA-256 prefix as its id.
func TestTokenCarriesKeyID(t *testing.T) {
	a := newAccount(t, "kid")
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(a.token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var header map[string]any
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	if kid, _ := header["kid"].(string); header["alg"] != "HS256" || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(kid) {
		t.Fatalf("JOSE header %s", raw)
	}
}

// One user flooding an authenticated route gets the burst through, then
// 429 with Retry-After and the RateLimit headers; others are unaffected.
func TestRateLimitPerUser(t *testing.T) {
	flood, other := newAccount(t, "flood"), newAccount(t, "calm")
	r := call(t, "GET", "/api/profile/me", other.token, nil)
	want(t, r, 200)
	if r.header.Get("RateLimit-Policy") != `"user";q=600;w=60` || !strings.HasPrefix(r.header.Get("RateLimit"), `"user";r=`) {
		t.Fatalf("RateLimit-Policy %q, RateLimit %q", r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
	}
	// 32 clients, 10 requests each, on kept-alive connections: the burst of
	// 100 goes through, and more as tokens come back at 10/s meanwhile.
	var mu sync.Mutex
	codes := map[int]int{}
	var limited reply
	var wg sync.WaitGroup
	c, base := gateway(t)
	get := func() reply { // call would t.Fatal, which only the test goroutine may
		req, _ := http.NewRequest("GET", base+"/api/profile/me", nil)
		req.Header.Set("Authorization", "Bearer "+flood.token)
		res, err := c.Do(req)
		if err != nil {
			t.Errorf("flood: %v", err)
			return reply{}
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return reply{res.StatusCode, res.Header, raw}
	}
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for range 10 {
				r := get()
				mu.Lock()
				codes[r.status]++
				if r.status == 429 {
					limited = r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	refilled := int(time.Since(start)/(100*time.Millisecond)) + 1
	if codes[200] < 100 || codes[200] > 100+refilled || codes[200]+codes[429] != 320 {
		t.Fatalf("320 requests of one user in %s: %v; want 100 to %d through, the rest 429", time.Since(start), codes, 100+refilled)
	}
	want(t, limited, 429)
	if ra := limited.header.Get("Retry-After"); ra != "1" || limited.header.Get("RateLimit") != `"user";r=0;t=1` {
		t.Fatalf("429: Retry-After %q, RateLimit %q", ra, limited.header.Get("RateLimit"))
	}
	want(t, call(t, "GET", "/api/profile/me", other.token, nil), 200)
}
