package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fuzzKeys are the keys of FuzzVerify; the seed corpus in
// testdata/fuzz/FuzzVerify holds tokens signed with them (valid at fuzzNow)
// and broken variants.
var fuzzKeys = []Key{
	{ID: "old", Secret: []byte("fuzz-old-key-0123456789abcdef0123")},
	{ID: "new", Secret: []byte("fuzz-new-key-0123456789abcdef0123")},
}

var fuzzNow = time.Unix(1_900_000_000, 0)

// FuzzVerify feeds arbitrary strings to the verifier: it must never panic,
// and whatever it accepts must be an HS256 JWS whose signature checks out,
// by an independent HMAC, under the key its kid names, with a UUID subject
// and an expiry after now; the verified-token cache must give the same
// answer a second time.
func FuzzVerify(f *testing.F) {
	s, err := NewKeyedSigner(fuzzKeys, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	s.now = func() time.Time { return fuzzNow }
	good, _, _ := s.Issue("3b1be25a-d7eb-4e49-9a87-adf1364f4dca")
	f.Add(good)
	f.Fuzz(func(t *testing.T, token string) {
		sub, err := s.Verify(token)
		sub2, err2 := s.Verify(token)
		if sub != sub2 || (err == nil) != (err2 == nil) {
			t.Fatalf("second verification differs: %q %v, then %q %v", sub, err, sub2, err2)
		}
		if err != nil {
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		var header struct {
			Alg string `json:"alg"`
			Kid string `json:"kid"`
		}
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		if json.Unmarshal(hb, &header) != nil || header.Alg != "HS256" {
			t.Fatalf("accepted header %q", hb)
		}
		var key []byte
		for _, k := range fuzzKeys {
			if k.ID == header.Kid {
				key = k.Secret
			}
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if key == nil || !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("accepted a token not signed by the key of kid %q", header.Kid)
		}
		// A json.Number, like the jwt library's NumericDate, also takes a
		// number in a string: harmless, since only we can sign one.
		var claims struct {
			Sub string      `json:"sub"`
			Exp json.Number `json:"exp"`
		}
		pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if json.Unmarshal(pb, &claims) != nil || claims.Sub != sub || uuid.Validate(sub) != nil {
			t.Fatalf("accepted claims %q as subject %q", pb, sub)
		}
		if exp, err := claims.Exp.Float64(); err != nil || exp <= float64(fuzzNow.Unix()) {
			t.Fatalf("accepted claims %q with an expiry not after now", pb)
		}
	})
}

// The corpus reaches the acceptance branch of FuzzVerify's oracle.
func TestFuzzCorpusHasValidTokens(t *testing.T) {
	s, err := NewKeyedSigner(fuzzKeys, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fuzzNow }
	for _, name := range []string{"valid_new", "valid_old"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", name))
		if err != nil {
			t.Fatal(err)
		}
		line := strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[1])
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "string("), ")"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
