package gatewayauth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/caddysocial/platform/caddy-modules/gateway/gatewayauth"
	"github.com/caddysocial/platform/caddy-modules/internal/caddyrun"
	"github.com/caddysocial/platform/caddy-modules/internal/tcptoggle"
	"github.com/caddysocial/platform/svckit/eventually"
	"github.com/caddysocial/platform/svckit/pgtest"
)

const testSecret = "an-hs256-test-secret-of-32-bytes+"

// gateway loads a Caddy with the auth app on dsn and returns its base URL.
func gateway(t testing.TB, dsn, authOptions string) string {
	t.Helper()
	t.Setenv("TEST_JWT_SECRET", testSecret)
	port := caddyrun.LoadOnFreePorts(t, 1, func(ports []int) string {
		return fmt.Sprintf(`{
	admin off
	caddysocial_auth {
		database %q
		jwt_secret_env TEST_JWT_SECRET
		hash_concurrency 4
		%s
	}
}
http://127.0.0.1:%d {
	handle /api/auth/register {
		caddysocial_auth_register
	}
	handle /api/auth/login {
		caddysocial_auth_login {
			max_body_bytes 1024
		}
	}
}`, dsn, authOptions, ports[0])
	})[0]
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t *testing.T, url, body string) response {
	t.Helper()
	return do(t, http.MethodPost, url, body)
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	r, err := send(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is do for goroutines, which must not end the test.
func send(method, url, body string) (response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r, nil
}

func creds(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

func wantError(t *testing.T, r response, status int, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	msg, _ := r.body["error"].(string)
	if len(r.body) != 1 || !strings.Contains(msg, msgPart) {
		t.Fatalf("body %s, want {\"error\": \"...%s...\"}", r.raw, msgPart)
	}
}

func TestRegister(t *testing.T) {
	base := gateway(t, pgtest.NewDatabase(t), "")
	reg := base + "/api/auth/register"

	r := post(t, reg, `{"email": "  Alice@Example.COM ", "password": "password1", "extra": true}`)
	if r.status != http.StatusCreated || r.body["email"] != "alice@example.com" || len(r.body) != 2 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	if id, _ := r.body["uuid"].(string); len(id) != 36 {
		t.Fatalf("uuid %q", id)
	}
	wantError(t, post(t, reg, creds("ALICE@example.com", "password2")), http.StatusConflict, "already registered")
	wantError(t, post(t, reg, creds("not-an-email", "password1")), http.StatusBadRequest, "email")
	wantError(t, post(t, reg, creds("bob@example.com", "short")), http.StatusBadRequest, "password")
	wantError(t, post(t, reg, creds("bob@example.com", strings.Repeat("p", 129))), http.StatusBadRequest, "password")
	wantError(t, post(t, reg, `{"email": "bob@example.com"}`), http.StatusBadRequest, "required")
	wantError(t, post(t, reg, `{"email": "bob@example.com", "password": 12345678}`), http.StatusBadRequest, "JSON")
	wantError(t, post(t, reg, `{"email": `), http.StatusBadRequest, "Invalid JSON: ")
	// PostgreSQL cannot store NUL: such an email is not an address (400
	// naming the field), never a database error. A password is only hashed.
	wantError(t, post(t, reg, `{"email": "a\u0000b@example.com", "password": "password1"}`), http.StatusBadRequest, "email")
	wantError(t, post(t, reg, `{"email": "nul@example.com\u0000", "password": "password1"}`), http.StatusBadRequest, "email")
	if r := post(t, reg, `{"email": "nul@example.com", "password": "pass\u0000word"}`); r.status != http.StatusCreated {
		t.Fatalf("password with NUL: %d %s", r.status, r.raw)
	}
	if r := post(t, base+"/api/auth/login", `{"email": "nul@example.com", "password": "pass\u0000word"}`); r.status != http.StatusOK {
		t.Fatalf("login with a NUL password: %d %s", r.status, r.raw)
	}
	wantError(t, post(t, base+"/api/auth/login", `{"email": "nul\u0000@example.com", "password": "pass\u0000word"}`), http.StatusUnauthorized, "invalid email or password")
	wantError(t, post(t, reg, `[]`), http.StatusBadRequest, "JSON")
	wantError(t, post(t, reg, `{} {}`), http.StatusBadRequest, "JSON")
	wantError(t, post(t, reg, ``), http.StatusBadRequest, "JSON")
	big := `{"email": "bob@example.com", "password": "` + strings.Repeat("x", 70<<10) + `"}`
	wantError(t, post(t, reg, big), http.StatusRequestEntityTooLarge, "larger than 65536")
	trailing := creds("bob@example.com", "password1") + strings.Repeat(" ", 70<<10)
	wantError(t, post(t, reg, trailing), http.StatusRequestEntityTooLarge, "larger")

	r = do(t, http.MethodGet, reg, "")
	wantError(t, r, http.StatusMethodNotAllowed, "method not allowed")
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

func TestLogin(t *testing.T) {
	base := gateway(t, pgtest.NewDatabase(t), "token_ttl 30m")
	post(t, base+"/api/auth/register", creds("carol@example.com", "password1"))
	login := base + "/api/auth/login"

	r := post(t, login, creds(" CAROL@example.com", "password1"))
	if r.status != http.StatusOK || r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(1800) {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	if tok, _ := r.body["access_token"].(string); strings.Count(tok, ".") != 2 {
		t.Fatalf("access_token %q is not a JWT", tok)
	}
	wrong := post(t, login, creds("carol@example.com", "password2"))
	unknown := post(t, login, creds("nobody@example.com", "password1"))
	wantError(t, wrong, http.StatusUnauthorized, "invalid email or password")
	if wrong.raw != unknown.raw || unknown.status != wrong.status {
		t.Fatalf("unknown email %d %s differs from wrong password %d %s", unknown.status, unknown.raw, wrong.status, wrong.raw)
	}
	wantError(t, post(t, login, `{"email":"carol@example.com","password":"`+strings.Repeat("x", 2000)+`"}`),
		http.StatusRequestEntityTooLarge, "larger than 1024")
	wantError(t, post(t, login, `nope`), http.StatusBadRequest, "JSON")
}

// login20 runs 20 parallel logins and counts the answers by status.
func login20(t *testing.T, url, body string) map[int][]response {
	t.Helper()
	var mu sync.Mutex
	got := map[int][]response{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r, err := send(http.MethodPost, url, body)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[r.status] = append(got[r.status], r)
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

func TestTwentyParallelLoginsGiveTenTokensAndTen429(t *testing.T) {
	base := gateway(t, pgtest.NewDatabase(t), "")
	post(t, base+"/api/auth/register", creds("dave@example.com", "password1"))
	got := login20(t, base+"/api/auth/login", creds("dave@example.com", "password1"))
	if len(got[200]) != 10 || len(got[429]) != 10 {
		t.Fatalf("statuses: 200×%d 429×%d (all: %v)", len(got[200]), len(got[429]), got)
	}
	for _, r := range got[429] {
		wantError(t, r, http.StatusTooManyRequests, "token limit")
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || secs < 3590 || secs > 3600 {
			t.Fatalf("Retry-After %q, want about 3600", r.header.Get("Retry-After"))
		}
	}
}

func TestTokenLimitSurvivesRestart(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := gateway(t, dsn, "tokens_per_window 3")
	post(t, base+"/api/auth/register", creds("erin@example.com", "password1"))
	for i := range 3 {
		if r := post(t, base+"/api/auth/login", creds("erin@example.com", "password1")); r.status != 200 {
			t.Fatalf("login %d: %d %s", i, r.status, r.raw)
		}
	}
	// A fresh config: new app, new handlers, a new pool (max_conns differs).
	base = gateway(t, dsn, "tokens_per_window 3\n\t\tmax_conns 5")
	r := post(t, base+"/api/auth/login", creds("erin@example.com", "password1"))
	wantError(t, r, http.StatusTooManyRequests, "token limit")
}

func TestRepeatedWrongPasswordsAreThrottled(t *testing.T) {
	base := gateway(t, pgtest.NewDatabase(t), "max_failed_logins 3\n\t\tfailure_window 10m")
	post(t, base+"/api/auth/register", creds("frank@example.com", "password1"))
	for range 3 {
		wantError(t, post(t, base+"/api/auth/login", creds("frank@example.com", "guess-guess")), 401, "invalid")
	}
	r := post(t, base+"/api/auth/login", creds("frank@example.com", "password1"))
	wantError(t, r, http.StatusTooManyRequests, "failed login attempts")
	if secs, _ := strconv.Atoi(r.header.Get("Retry-After")); secs < 590 || secs > 600 {
		t.Fatalf("Retry-After %q, want about 600", r.header.Get("Retry-After"))
	}
}

func TestDatabaseDownIs503AndRecovers(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	u, _ := url.Parse(dsn)
	proxy := tcptoggle.New(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	base := gateway(t, u.String(), "query_timeout 3s")

	if r := post(t, base+"/api/auth/register", creds("gina@example.com", "password1")); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	proxy.Down()
	for _, path := range []string{"/api/auth/register", "/api/auth/login"} {
		r := post(t, base+path, creds("gina@example.com", "password1"))
		wantError(t, r, http.StatusServiceUnavailable, "temporarily unavailable")
		if strings.Contains(r.raw, "127.0.0.1") || strings.Contains(strings.ToLower(r.raw), "sql") {
			t.Fatalf("503 body leaks internals: %s", r.raw)
		}
	}
	proxy.Up(t)
	eventually.NoError(t, 0, "login after auth-db returned", func() error {
		if r := post(t, base+"/api/auth/login", creds("gina@example.com", "password1")); r.status != 200 {
			return fmt.Errorf("%d %s", r.status, r.raw)
		}
		return nil
	})
}

// Only connection-level failures are "temporarily unavailable": a fault such
// as a missing table is a 500 that promises nothing and shows nothing.
func TestDatabaseFaultIs500(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := gateway(t, dsn, "")
	if r := post(t, base+"/api/auth/register", creds("ivy@example.com", "password1")); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	pgtest.Exec(t, dsn, "DROP TABLE login_failures")
	r := post(t, base+"/api/auth/login", creds("ivy@example.com", "password1"))
	wantError(t, r, http.StatusInternalServerError, "internal error")
	if r.header.Get("Retry-After") != "" || strings.Contains(r.raw, "login_failures") {
		t.Fatalf("500 with Retry-After or detail: %v %s", r.header, r.raw)
	}
}

func TestGatewayStartsBeforeTheDatabaseAndMigratesLater(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	u, _ := url.Parse(dsn)
	proxy := tcptoggle.New(t, u.Host)
	proxy.Down()
	u.Host = proxy.Addr()
	base := gateway(t, u.String()+"&connect_timeout=1", "")
	wantError(t, post(t, base+"/api/auth/register", creds("hal@example.com", "password1")), 503, "unavailable")
	proxy.Up(t)
	if r := post(t, base+"/api/auth/register", creds("hal@example.com", "password1")); r.status != 201 {
		t.Fatalf("register after auth-db came up: %d %s", r.status, r.raw)
	}
}

func TestRefusesToStartWithoutSecret(t *testing.T) {
	t.Setenv("TEST_JWT_SECRET", "")
	err := caddyrun.LoadErr(fmt.Sprintf(`{
	admin off
	caddysocial_auth {
		jwt_secret_env TEST_JWT_SECRET
	}
}
http://127.0.0.1:%d {
	caddysocial_auth_login
}`, caddyrun.FreePort(t)))
	if err == nil || !strings.Contains(err.Error(), "TEST_JWT_SECRET is empty or unset") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("TEST_JWT_SECRET", "short")
	err = caddyrun.LoadErr(fmt.Sprintf("{\n\tadmin off\n\tcaddysocial_auth {\n\t\tjwt_secret_env TEST_JWT_SECRET\n\t}\n}\nhttp://127.0.0.1:%d {\n\tcaddysocial_auth_login\n}", caddyrun.FreePort(t)))
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("err = %v", err)
	}
}
