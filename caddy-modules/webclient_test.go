package caddymodules_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The web client (../web) as the repository's Caddyfile serves it.
func TestGatewayServesWebClient(t *testing.T) {
	root, err := filepath.Abs("../web")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEB_ROOT", root)
	g := startGateway(t)

	r := g.do(t, "GET", "/", "", "", "Accept-Encoding", "gzip")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", r.status, r.header.Get("Content-Type"))
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows inline code or another origin", csp)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Content-Encoding":       "gzip",
		"Cache-Control":          "no-cache",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("GET /: %s %q, want %q", h, got, want)
		}
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /: no ETag")
	}
	// Revalidation answers 304 without a body.
	r = g.do(t, "GET", "/", "", "", "Accept-Encoding", "gzip", "If-None-Match", etag)
	if r.status != 304 || r.raw != "" {
		t.Errorf("revalidation: %d with %d bytes, want 304", r.status, len(r.raw))
	}

	// Module scripts need a JavaScript type (nosniff makes browsers check it).
	r = g.do(t, "GET", "/js/app.js", "", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js: %d %q", r.status, r.header.Get("Content-Type"))
	}

	// Every file of the client together stays within the first page's budget.
	total := 0
	walkWeb(t, root, func(rel string, _ []byte) {
		r := g.do(t, "GET", "/"+rel, "", "", "Accept-Encoding", "gzip")
		if r.status != 200 {
			t.Errorf("/%s: %d", rel, r.status)
		}
		total += len(r.raw)
	})
	if total > 100<<10 {
		t.Errorf("the client's files are %d bytes compressed, over the 100 KiB budget", total)
	}

	// The API keeps its JSON errors beside the client.
	wantJSONError(t, g.do(t, "GET", "/api", "", ""), 404)
	wantJSONError(t, g.do(t, "GET", "/api/nope", "", ""), 404)
	wantJSONError(t, g.do(t, "GET", "/no-such-file.js", "", ""), 404)
}

// The client never builds markup from strings and has no inline code: the
// CSP would block it, and user content must stay text.
func TestWebClientHasNoInlineCodeOrHTMLSinks(t *testing.T) {
	forbidden := map[string]*regexp.Regexp{
		".html": regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\sstyle=|\son[a-z]+=|<style|javascript:`),
		".js":   regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*'style'|localStorage|document\.cookie`),
	}
	walkWeb(t, "../web", func(rel string, src []byte) {
		if re := forbidden[filepath.Ext(rel)]; re != nil {
			if m := re.Find(src); m != nil {
				t.Errorf("%s: %q", rel, m)
			}
		}
	})
}

// index.html preloads every module, so the first screen has no import
// waterfall; a module added without its preload would slow it down.
func TestWebClientPreloadsEveryModule(t *testing.T) {
	index, err := os.ReadFile("../web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	walkWeb(t, "../web", func(rel string, _ []byte) {
		if filepath.Ext(rel) == ".js" && rel != "js/app.js" && !strings.Contains(string(index), `<link rel="modulepreload" href="/`+rel+`">`) {
			t.Errorf("index.html does not preload /%s", rel)
		}
	})
}

func walkWeb(t *testing.T, root string, fn func(rel string, src []byte)) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		n++
		fn(filepath.ToSlash(rel), src)
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("reading the web client in %s: %v (%d files)", root, err, n)
	}
}
