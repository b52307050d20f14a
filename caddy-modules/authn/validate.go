package authn

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

const (
	// MinPasswordLength and MaxPasswordLength are in characters (Unicode code
	// points). The maximum keeps one hash input small; Argon2id itself has no
	// length limit like bcrypt's 72 bytes.
	MinPasswordLength = 8
	MaxPasswordLength = 128
	// MaxEmailLength is RFC 5321's limit on a forward path.
	MaxEmailLength = 254
)

var (
	ErrInvalidEmail    = errors.New("email is not a valid address")
	ErrInvalidPassword = errors.New("password must be 8 to 128 characters")
)

// NormalizeEmail trims and lower-cases email and checks it is a bare address
// (no display name, no comments). Lower-casing the local part is a product
// decision: "Alice@x.io" and "alice@x.io" are one account.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || len(email) > MaxEmailLength {
		return "", ErrInvalidEmail
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// ValidatePassword checks the length rules.
func ValidatePassword(password string) error {
	if !utf8.ValidString(password) {
		return ErrInvalidPassword
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength || n > MaxPasswordLength {
		return ErrInvalidPassword
	}
	return nil
}
