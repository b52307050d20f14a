package tokens

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Key is one HS256 key and its id, the "kid" of the tokens it signs.
type Key struct {
	ID     string
	Secret []byte
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// KeyID is the id of a key given without one (a JWT_SECRET): the first 16
// hex digits of its SHA-256, stable for as long as the secret is. The shell
// equivalent, used by compose's first start, is
//
//	printf %s "$secret" | sha256sum | cut -c1-16
//
// A hash of a secret of 32+ bytes tells nothing about it that the tokens'
// HMAC signatures do not already.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:8])
}

// ParseKeys reads a keys file: one key a line, "<id> <secret>", in the
// order they were added; the last one signs new tokens, every one verifies.
// Blank lines and lines starting with # are ignored. Ids are 1-64 of
// [A-Za-z0-9._-] and unique; secrets are at least MinSecretBytes and contain
// no white space.
func ParseKeys(data []byte) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		// Never echo the line: it holds a secret.
		switch {
		case len(fields) != 2:
			return nil, fmt.Errorf("line %d: want \"<id> <secret>\", got %d fields", n, len(fields))
		case !keyIDPattern.MatchString(fields[0]):
			return nil, fmt.Errorf("line %d: key id %q: use 1-64 letters, digits, '.', '_' or '-'", n, fields[0])
		case seen[fields[0]]:
			return nil, fmt.Errorf("line %d: key id %q listed twice", n, fields[0])
		case len(fields[1]) < MinSecretBytes:
			return nil, fmt.Errorf("line %d: key %q is %d bytes, need at least %d", n, fields[0], len(fields[1]), MinSecretBytes)
		}
		seen[fields[0]] = true
		keys = append(keys, Key{ID: fields[0], Secret: []byte(fields[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// LoadKeys reads the keys file at path (see ParseKeys).
func LoadKeys(path string) ([]Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read jwt keys file: %w", err)
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("jwt keys file %s: %w", path, err)
	}
	return keys, nil
}
