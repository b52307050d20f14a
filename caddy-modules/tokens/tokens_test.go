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
	mk := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	future := time.Now().Add(time.Hour).Unix()
	parts := strings.Split(good, ".")
	tamperedPayload, _ := json.Marshal(map[string]any{"sub": "aba1272b-c35a-4c4f-a869-2227a0867c7f", "exp": future})
	cases := map[string]string{
		"empty":          "",
		"garbage":        "not.a.jwt",
		"two parts":      parts[0] + "." + parts[1],
		"tampered":       parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2],
		"bad signature":  parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("nope")),
		"alg none":       mk(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": sub, "exp": future}),
		"alg HS512":      mk(jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": sub, "exp": future}),
		"other secret":   mk(jwt.SigningMethodHS256, []byte("ffffffffffffffffffffffffffffffff"), jwt.MapClaims{"sub": sub, "exp": future}),
		"expired":        mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": sub, "exp": time.Now().Add(-time.Minute).Unix()}),
		"no exp":         mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": sub}),
		"sub not a uuid": mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "admin", "exp": future}),
		"no sub":         mk(jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": future}),
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
