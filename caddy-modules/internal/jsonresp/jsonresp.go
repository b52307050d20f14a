// Package jsonresp writes the gateway's JSON responses and its error shape,
// {"error": "<message>"}.
package jsonresp

import (
	"encoding/json"
	"net/http"
)

// Write sends v as JSON with the given status.
func Write(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Error sends {"error": msg} with the given status. msg must be written for
// clients: never an internal error's text.
func Error(w http.ResponseWriter, status int, msg string) error {
	return Write(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
