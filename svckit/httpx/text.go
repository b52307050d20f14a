package httpx

import (
	"net/http"
	"strings"
)

// StorableText reports whether PostgreSQL can store s in a text column.
// encoding/json already turns invalid UTF-8 and lone surrogates into U+FFFD,
// so what is left is NUL, which no PostgreSQL text value may contain.
func StorableText(s string) bool { return !strings.ContainsRune(s, 0) }

// RequireText answers 400 naming field when value cannot be stored, after
// prefix (the original service's wording for the case, or ""). It returns
// false when it has answered.
func RequireText(w http.ResponseWriter, prefix, field, value string) bool {
	if StorableText(value) {
		return true
	}
	msg := field + " must not contain NUL (\\u0000) characters"
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	Error(w, http.StatusBadRequest, msg)
	return false
}
