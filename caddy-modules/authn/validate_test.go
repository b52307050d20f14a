package authn

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"alice@example.com":        "alice@example.com",
		"  Alice@Example.COM \n":   "alice@example.com",
		"first.last+tag@sub.ex.io": "first.last+tag@sub.ex.io",
	}
	for in, want := range good {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "   ", "alice", "alice@", "@example.com", "Alice <alice@example.com>",
		"a b@example.com", "alice@@example.com", strings.Repeat("a", 250) + "@ex.io"}
	for _, in := range bad {
		if got, err := NormalizeEmail(in); !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", in, got, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, ok := range []string{"12345678", strings.Repeat("é", 128), "pass word"} {
		if err := ValidatePassword(ok); err != nil {
			t.Errorf("ValidatePassword(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1234567", strings.Repeat("x", 129), "1234567\xff"} {
		if err := ValidatePassword(bad); !errors.Is(err, ErrInvalidPassword) {
			t.Errorf("ValidatePassword(%q) = %v; want ErrInvalidPassword", bad, err)
		}
	}
}
