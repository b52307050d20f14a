// Package tokens issues and verifies the gateway's access tokens: JWTs signed
// with HS256 whose claims are exactly "sub" (the user UUID) and "exp", and
// whose JOSE header names the signing key in "kid".
//
// Several keys may be in use at once, for rotation without logging anyone
// out: the newest signs, all verify, and a token whose kid is not (or no
// longer) among them is invalid.
//
// Verification pins the algorithm to HS256 (so "none", RS256 key-confusion and
// every other alg are rejected before the key is used), requires "exp", and
// requires "sub" to be a UUID, since it becomes the X-User-ID header.
package tokens

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
)

// MinSecretBytes is the minimum HS256 key length (RFC 7518 section 3.2).
const MinSecretBytes = 32

// verifiedCacheSize bounds the cache of verified tokens (about 300 bytes an
// entry). Parsing a JWT costs two base64 and two JSON decodes and an HMAC,
// about a tenth of the gateway's CPU per proxied request; a client presents
// the same token for its whole life, so a hit skips all of it. Only tokens
// that verified are cached, and their expiry is checked on every hit.
const verifiedCacheSize = 16384

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// claims are exactly the two the platform uses; a struct (not
// jwt.RegisteredClaims) keeps "iat", "nbf" and friends out of issued tokens.
type claims struct {
	Subject   string           `json:"sub"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
}

func (c claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c claims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (c claims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c claims) GetIssuer() (string, error)                   { return "", nil }
func (c claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c claims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Signer issues and verifies tokens with a set of HMAC keys.
type Signer struct {
	signing  Key
	keys     map[string][]byte
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	verified *lru.Cache[string, verifiedToken]
}

type verifiedToken struct {
	subject string
	expires time.Time
}

// NewSigner returns a Signer with one key, whose id is KeyID(secret); the
// secret must be at least MinSecretBytes.
func NewSigner(secret []byte, ttl time.Duration) (*Signer, error) {
	return NewKeyedSigner([]Key{{ID: KeyID(secret), Secret: secret}}, ttl)
}

// NewKeyedSigner returns a Signer that signs with the last key and verifies
// with every key. The verified-token cache belongs to the Signer, so a
// Signer made without a key never accepts that key's tokens, cached or not.
func NewKeyedSigner(keys []Key, ttl time.Duration) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no jwt keys")
	}
	byID := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if len(k.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("jwt key %q is %d bytes, need at least %d", k.ID, len(k.Secret), MinSecretBytes)
		}
		if k.ID == "" || byID[k.ID] != nil {
			return nil, fmt.Errorf("jwt key id %q is empty or not unique", k.ID)
		}
		byID[k.ID] = k.Secret
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("token ttl must be positive, got %s", ttl)
	}
	verified, err := lru.New[string, verifiedToken](verifiedCacheSize)
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	s := &Signer{signing: keys[len(keys)-1], keys: byID, ttl: ttl, now: time.Now, verified: verified}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return s.now() }),
	)
	return s, nil
}

// TTL is how long issued tokens are valid.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Issue returns a signed token for subject and its expiry.
func (s *Signer) Issue(subject string) (string, time.Time, error) {
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Subject: subject, ExpiresAt: jwt.NewNumericDate(exp)})
	tok.Header["kid"] = s.signing.ID
	signed, err := tok.SignedString(s.signing.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return signed, exp, nil
}

// SigningKeyID is the kid of the tokens Issue returns.
func (s *Signer) SigningKeyID() string { return s.signing.ID }

// Verify checks key id, signature, algorithm and expiry and returns the
// subject.
func (s *Signer) Verify(token string) (string, error) {
	if v, ok := s.verified.Get(token); ok {
		// jwt's rule: valid while now is before exp.
		if s.now().Before(v.expires) {
			return v.subject, nil
		}
		s.verified.Remove(token)
		return "", fmt.Errorf("%w: token is expired", ErrInvalidToken)
	}
	var c claims
	_, err := s.parser.ParseWithClaims(token, &c, s.keyFor)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if _, err := uuid.Parse(c.Subject); err != nil {
		return "", fmt.Errorf("%w: sub is not a UUID", ErrInvalidToken)
	}
	s.verified.Add(token, verifiedToken{subject: c.Subject, expires: c.ExpiresAt.Time})
	return c.Subject, nil
}

// keyFor picks the key named by the token's kid; the parser has already
// pinned the algorithm to HS256.
func (s *Signer) keyFor(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		return nil, errors.New("no kid in the token header")
	}
	key, ok := s.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

// LoadSecret reads the signing secret from the file at path if path is not
// empty, else from the environment variable env. Surrounding white space
// (a trailing newline from `echo > file`) is not part of the secret.
func LoadSecret(path, env string) ([]byte, error) {
	var raw string
	switch {
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read jwt secret file: %w", err)
		}
		raw = string(b)
	case env != "":
		raw = os.Getenv(env)
		if raw == "" {
			return nil, fmt.Errorf("jwt secret: environment variable %s is empty or unset", env)
		}
	default:
		return nil, errors.New("jwt secret: set a secret file or an environment variable")
	}
	secret := []byte(strings.TrimSpace(raw))
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("jwt secret is %d bytes, need at least %d", len(secret), MinSecretBytes)
	}
	return secret, nil
}
