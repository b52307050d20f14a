package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// compose runs `docker compose` on the e2e project (E2E_COMPOSE holds the
// command with its -f and -p flags).
func compose(t *testing.T, args ...string) {
	t.Helper()
	base := strings.Fields(os.Getenv("E2E_COMPOSE"))
	if len(base) == 0 {
		t.Fatal("E2E_COMPOSE is not set: run `make e2e`")
	}
	cmd := exec.Command(base[0], append(base[1:], args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

// eventually retries f until it returns "" or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if last = f(); last == "" {
			return
		}
	}
	t.Fatalf("%s: still %s after %s", what, last, timeout)
}

func loginStatus(t *testing.T, a account) (int, string) {
	r := call(t, "POST", "/api/auth/login", "", map[string]string{"email": a.email, "password": a.password})
	return r.status, string(r.raw)
}

// TestOutageAuthDB: logins get 503 while auth-db is down, work again after,
// and no registered user is lost.
func TestOutageAuthDB(t *testing.T) {
	a := newAccount(t, "outage")
	compose(t, "stop", "auth-db")
	eventually(t, 30*time.Second, "login while auth-db is down", func() string {
		if s, body := loginStatus(t, a); s != 503 {
			return body
		}
		return ""
	})
	r := call(t, "POST", "/api/auth/register", "", map[string]string{"email": "during-" + a.email, "password": a.password})
	want(t, r, 503)
	// Tokens are verified without the database: the API keeps working.
	want(t, call(t, "GET", "/api/profile/me", a.token, nil), 200)
	compose(t, "start", "auth-db")
	eventually(t, 60*time.Second, "login after auth-db returned", func() string {
		if s, body := loginStatus(t, a); s != 200 {
			return body
		}
		return ""
	})
}

// TestOutageGatewayRestart: tokens issued before a restart still work, and
// the login limit still holds after it.
func TestOutageGatewayRestart(t *testing.T) {
	a := newAccount(t, "restart") // one login used
	for range 9 {
		login(t, a)
	}
	compose(t, "restart", "gateway")
	eventually(t, 60*time.Second, "gateway back", func() string {
		_, base := gateway(t)
		c, _ := gateway(t)
		res, err := c.Get(base + "/api/feed")
		if err != nil {
			return err.Error()
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			return res.Status
		}
		return ""
	})
	want(t, call(t, "GET", "/api/profile/me", a.token, nil), 200)
	r := call(t, "POST", "/api/auth/login", "", map[string]string{"email": a.email, "password": a.password})
	want(t, r, 429)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}
