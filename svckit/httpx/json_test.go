package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// DecodeJSONLimit answers in the one error shape: 413 above its own limit
// (declared or streamed), 400 for anything but one JSON object.
func TestDecodeJSONLimit(t *testing.T) {
	for _, c := range []struct {
		name, body string
		chunked    bool
		want       int
		msg        string
	}{
		{"fits", `{"a":"0123456789"}`, false, 0, ""},
		{"declared too large", `{"a":"0123456789012345678901234567890123456789"}`, false, 413, `{"error":"request body larger than 32 bytes"}`},
		{"streamed too large", `{"a":"0123456789012345678901234567890123456789"}`, true, 413, `{"error":"request body larger than 32 bytes"}`},
		{"not JSON", `nope`, false, 400, `{"error":"Invalid JSON: request body must be a JSON object"}`},
		{"trailing data", `{"a":"x"}{}`, false, 400, `{"error":"Invalid JSON: request body must be a JSON object"}`},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
		if c.chunked {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		var dst struct{ A string }
		ok := DecodeJSONLimit(w, r, &dst, 32)
		if c.want == 0 {
			if !ok || dst.A != "0123456789" {
				t.Errorf("%s: ok=%v dst=%+v body=%q", c.name, ok, dst, w.Body)
			}
			continue
		}
		if ok || w.Code != c.want || strings.TrimSpace(w.Body.String()) != c.msg || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: ok=%v %d %q, want %d %q", c.name, ok, w.Code, w.Body, c.want, c.msg)
		}
	}
}

func TestNoStoreWriters(t *testing.T) {
	w := httptest.NewRecorder()
	ErrorNoStore(w, http.StatusUnauthorized, "wrong password")
	if w.Code != 401 || w.Header().Get("Cache-Control") != "no-store" || strings.TrimSpace(w.Body.String()) != `{"error":"wrong password"}` {
		t.Errorf("ErrorNoStore: %d %v %q", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	WriteJSONNoStore(w, http.StatusCreated, map[string]string{"uuid": "u"})
	if w.Code != 201 || w.Header().Get("Cache-Control") != "no-store" || strings.TrimSpace(w.Body.String()) != `{"uuid":"u"}` {
		t.Errorf("WriteJSONNoStore: %d %v %q", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	Error(w, http.StatusNotFound, "not found")
	if w.Header().Get("Cache-Control") != "" || strings.TrimSpace(w.Body.String()) != `{"error":"not found"}` {
		t.Errorf("Error: %v %q", w.Header(), w.Body)
	}
}
