// Package httpx is the service's HTTP plumbing: JSON bodies in and out,
// X-User-ID authentication, per-route metrics, access logs, panic recovery,
// and method routing that answers 404/405 in JSON.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// WriteJSON sends v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteJSONNoStore is WriteJSON with Cache-Control: no-store, for responses
// that no cache may keep: the gateway's tokens, account changes and the
// errors that answer them.
func WriteJSONNoStore(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, status, v)
}

// Error sends {"error": msg}. msg is for clients: never an internal error.
func Error(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, errorBody{msg})
}

// ErrorNoStore is Error with Cache-Control: no-store.
func ErrorNoStore(w http.ResponseWriter, status int, msg string) {
	WriteJSONNoStore(w, status, errorBody{msg})
}

// errorBody is the platform's one error shape.
type errorBody struct {
	Error string `json:"error"`
}

// DecodeJSON reads a JSON object of at most MaxBodyBytes into dst, ignoring
// unknown fields. On failure it has answered the client and returns false;
// a malformed body's error starts with the original services' "Invalid JSON".
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	return DecodeJSONLimit(w, r, dst, MaxBodyBytes)
}

// DecodeJSONLimit is DecodeJSON with a body limit of limit bytes (a
// gateway handler's max_body_bytes); larger bodies get 413. Its answers
// carry Cache-Control: no-store only if the caller set it on w before.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) bool {
	if r.ContentLength > limit {
		Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
		return false
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		_, err = io.Copy(io.Discard, body)
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
		return false
	}
	if err != nil {
		Error(w, http.StatusBadRequest, "Invalid JSON: request body must be a JSON object")
		return false
	}
	return true
}
