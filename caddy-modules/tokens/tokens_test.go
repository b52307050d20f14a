package tokens

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

const sub = "3b1be25a-d7eb-4e49-9a87-adf1364f4dca"

func signer(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssuedTokenHasExactlySubAndExpAndHS256(t *testing.T) {
	s := signer(t)
	tok, exp, err := s.Issue(sub)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header, payload map[string]any
	decode := func(p string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &payload)
	if header["alg"] != "HS256" {
		t.Fatalf("alg = %v", header["alg"])
	}
	if len(payload) != 2 || payload["sub"] != sub || payload["exp"] != float64(exp.Unix()) {
		t.Fatalf("payload = %v, want exactly sub and exp", payload)
	}
	got, err := s.Verify(tok)
	if err != nil || got != sub {
		t.Fatalf("Verify = %q, %v", got, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := signer(t)
	good, _, _ := s.Issue(sub)
	// With the right kid, so that each case fails for its own reason.
	mk := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = KeyID(secret)
		signed, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	future := time.Now().Add(time.Hour).Unix()
	parts := strings.Split(good, ".")
	tamperedPayload, _ := json.Marshal(map[string]any{"sub": "aba1272b-c35a-4c4f-a869-2227a0867c7f", "exp": future})
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not.a.jwt",
		"two parts":        parts[0] + "." + parts[1],
		"tampered":         parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2],
		"bad signature":    parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("nope")),
		"alg none":         mk(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": sub, "exp": future}),
		"alg HS512":        mk(jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": sub, "exp": future}),
		"other secret":     mk(jwt.SigningMethodHS256, []byte("ffffffffffffffffffffffffffffffff"), jwt.MapClaims{"sub": sub, "exp": future}),
		"expired":          mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(-time.Minute).Unix()}),
		"no exp":           mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": sub}),
		"sub not a uuid":   mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "admin", "exp": future}),
		"no sub":           mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": future}),
		"no kid":           noKid(t, secret, jwt.MapClaims{"sub": sub, "exp": future}),
		"kid not a string": withHeader(t, secret, "kid", 7, jwt.MapClaims{"sub": sub, "exp": future}),
		"unknown kid":      withHeader(t, secret, "kid", "elsewhere", jwt.MapClaims{"sub": sub, "exp": future}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := s.Verify(tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %q, %v; want ErrInvalidToken", got, err)
			}
		})
	}
}

func TestExpiryUsesClock(t *testing.T) {
	for _, warm := range []bool{false, true} {
		s := signer(t)
		tok, _, _ := s.Issue(sub)
		if warm { // the token is in the verified cache
			if _, err := s.Verify(tok); err != nil {
				t.Fatal(err)
			}
		}
		s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if _, err := s.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("cached=%v: token verified two hours later with a one-hour ttl: %v", warm, err)
		}
	}
}

func TestCachedVerificationIsByExactToken(t *testing.T) {
	s := signer(t)
	tok, _, _ := s.Issue(sub)
	if got, err := s.Verify(tok); err != nil || got != sub {
		t.Fatal(got, err)
	}
	// A one-character change to a cached token must still fail.
	flipped := tok[:len(tok)-2] + string(tok[len(tok)-2]^1) + tok[len(tok)-1:]
	if _, err := s.Verify(flipped); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("altered token accepted: %v", err)
	}
	if got, err := s.Verify(tok); err != nil || got != sub {
		t.Fatalf("second verification: %q %v", got, err)
	}
}

func TestNewSignerRejectsShortSecret(t *testing.T) {
	if _, err := NewSigner([]byte("short"), time.Hour); err == nil {
		t.Fatal("accepted a 5-byte secret")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSecret(file, "")
	if err != nil || string(got) != string(secret) {
		t.Fatalf("from file: %q, %v", got, err)
	}
	t.Setenv("TEST_JWT_SECRET", string(secret))
	if got, err := LoadSecret("", "TEST_JWT_SECRET"); err != nil || string(got) != string(secret) {
		t.Fatalf("from env: %q, %v", got, err)
	}
	t.Setenv("TEST_JWT_SECRET", "too short")
	if _, err := LoadSecret("", "TEST_JWT_SECRET"); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short env secret: %v", err)
	}
	if _, err := LoadSecret(filepath.Join(dir, "missing"), ""); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := LoadSecret("", ""); err == nil {
		t.Fatal("no source accepted")
	}
}

func withHeader(t *testing.T, key []byte, name string, value any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header[name] = value
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func noKid(t *testing.T, key []byte, c jwt.MapClaims) string {
	t.Helper()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func keyed(t *testing.T, keys ...Key) *Signer {
	t.Helper()
	s, err := NewKeyedSigner(keys, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRotation(t *testing.T) {
	k1 := Key{ID: "2026-01", Secret: []byte(strings.Repeat("1", 32))}
	k2 := Key{ID: "2026-02", Secret: []byte(strings.Repeat("2", 40))}
	old := keyed(t, k1)
	t1, _, _ := old.Issue(sub)
	if h := header(t, t1); h["kid"] != "2026-01" || h["alg"] != "HS256" {
		t.Fatalf("header %v", h)
	}
	// Step 1: the new key is added; it signs, both verify.
	both := keyed(t, k1, k2)
	t2, _, _ := both.Issue(sub)
	if header(t, t2)["kid"] != "2026-02" || both.SigningKeyID() != "2026-02" {
		t.Fatalf("the newest key does not sign: %v", header(t, t2))
	}
	for _, tok := range []string{t1, t2} {
		if got, err := both.Verify(tok); err != nil || got != sub {
			t.Fatalf("during rotation: %q %v", got, err)
		}
	}
	// Step 2: the old key is removed; its tokens are refused.
	fresh := keyed(t, k2)
	if _, err := fresh.Verify(t1); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a removed key accepted: %v", err)
	}
	if got, err := fresh.Verify(t2); err != nil || got != sub {
		t.Fatalf("token of the remaining key: %q %v", got, err)
	}
	// A token claiming one key's id but signed with another is refused.
	forged := withHeader(t, k1.Secret, "kid", "2026-02", jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := both.Verify(forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("kid of one key, signature of another: %v", err)
	}
}

func TestSingleSecretKeyID(t *testing.T) {
	s := signer(t)
	tok, _, _ := s.Issue(sub)
	// The id compose's shell derives: printf %s "$secret" | sha256sum | cut -c1-16
	if got := header(t, tok)["kid"]; got != "3eb1bd439947eb76" {
		t.Fatalf("kid %v", got)
	}
}

func TestNewKeyedSignerRejects(t *testing.T) {
	good := []byte(strings.Repeat("g", 32))
	for name, keys := range map[string][]Key{
		"none":      nil,
		"short":     {{ID: "a", Secret: []byte("short")}},
		"no id":     {{ID: "", Secret: good}},
		"duplicate": {{ID: "a", Secret: good}, {ID: "a", Secret: good}},
	} {
		if _, err := NewKeyedSigner(keys, time.Hour); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseKeys(t *testing.T) {
	s1, s2 := strings.Repeat("a", 32), strings.Repeat("b", 48)
	keys, err := ParseKeys([]byte("# rotated 2026-11-27\n\nk1 " + s1 + "\n  k2\t" + s2 + "  \n"))
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || string(keys[0].Secret) != s1 || keys[1].ID != "k2" || string(keys[1].Secret) != s2 {
		t.Fatalf("%v %v", keys, err)
	}
	for name, file := range map[string]string{
		"empty":        "# nothing\n",
		"no secret":    "k1\n",
		"three fields": "k1 " + s1 + " extra\n",
		"short secret": "k1 short\n",
		"bad id":       "k/1 " + s1 + "\n",
		"duplicate id": "k1 " + s1 + "\nk1 " + s2 + "\n",
	} {
		_, err := ParseKeys([]byte(file))
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), s1) || strings.Contains(err.Error(), s2) {
			t.Errorf("%s: error shows the secret: %v", name, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte("k1 "+s1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := LoadKeys(path); err != nil || len(keys) != 1 {
		t.Fatalf("LoadKeys: %v %v", keys, err)
	}
	if _, err := LoadKeys(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}
