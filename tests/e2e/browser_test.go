package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browser is one Chromium started for a test; each person gets a tab in a
// browser context of their own (separate storage, like two machines).
type browser struct {
	ctx       context.Context
	artifacts string
}

// startBrowser runs headless Chromium from the system (Debian's chromium
// package), trusting only the certificates that Caddy's internal CA issued
// to the gateway (pinned by public key), never any certificate.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	_, base := gateway(t)
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (apt-get install chromium): ", err)
	}
	pin, err := chainPins(base, os.Getenv("E2E_CA_CERT"))
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // as root, Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", pin),
		chromedp.WindowSize(1100, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir, _ = filepath.Abs(filepath.Join(dir, t.Name()))
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: ctx, artifacts: dir}
}

// chainPins verifies the gateway's certificate chain against Caddy's root
// (E2E_CA_CERT) and returns the base64 SHA-256 public-key pins of the
// served certificates, for Chromium's --ignore-certificate-errors-spki-list
// (which matches served certificates, not a root the server does not send).
func chainPins(base, pemFile string) (string, error) {
	raw, err := os.ReadFile(pemFile)
	if err != nil {
		return "", fmt.Errorf("E2E_CA_CERT: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return "", fmt.Errorf("E2E_CA_CERT %s: no certificate", pemFile)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: u.Hostname()})
	if err != nil {
		return "", fmt.Errorf("TLS to %s with Caddy's root: %w", u.Host, err)
	}
	defer conn.Close()
	var pins []string
	for _, c := range conn.ConnectionState().PeerCertificates {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		pins = append(pins, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return strings.Join(pins, ","), nil
}

// person is a tab in its own browser context, with everything the page
// reported: console output, exceptions, log entries, dialogs.
type person struct {
	name string
	ctx  context.Context
	t    *testing.T
	b    *browser

	mu       sync.Mutex
	console  []string // everything, for the artifacts
	problems []string // what fails the test
}

// cspProbe records CSP violations in the page (the event fires in the page,
// not over the protocol); it is injected by the protocol, outside the CSP.
const cspProbe = `window.__csp = []; document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));`

func (b *browser) person(t *testing.T, name string, width, height int64) *person {
	t.Helper()
	p := &person{name: name, t: t, b: b}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.listen))
	t.Cleanup(cancel)
	p.ctx = ctx
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, height),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
			return chromedp.Void{}, err
		})
	if err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveArtifacts()
		}
	})
	return p
}

func (p *person) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line := fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		p.console = append(p.console, line)
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			p.problems = append(p.problems, line)
		}
	case *runtime.EventExceptionThrown:
		line := "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
		p.console = append(p.console, line)
		p.problems = append(p.problems, line)
	case *log.EventEntryAdded:
		en := e.Entry
		line := fmt.Sprintf("log %s/%s: %s %s", en.Source, en.Level, en.Text, en.URL)
		p.console = append(p.console, line)
		// The API's error statuses (a wrong password, no profile yet, no
		// stream) are logged by Chromium as failed resources: expected.
		// Anything else at warning or error level is a fault of the client.
		expected := en.Source == log.EntrySourceNetwork && strings.Contains(en.URL, "/api/")
		if (en.Level == log.EntryLevelError || en.Level == log.EntryLevelWarning) && !expected {
			p.problems = append(p.problems, line)
		}
	case *page.EventJavascriptDialogOpening:
		line := fmt.Sprintf("dialog %s: %s", e.Type, e.Message)
		p.console = append(p.console, line)
		p.problems = append(p.problems, line+" (user content ran as code)")
		go func() { // a dialog blocks the page until answered
			_, _ = chromedp.Run(p.ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
				return cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			})
		}()
	}
}

// do runs the steps with a deadline, failing the test with the step's name.
func (p *person) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

func eval[T any](p *person, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// text waits for sel to be visible and returns its text.
func (p *person) text(sel string) string {
	p.t.Helper()
	p.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: text of %s: %v", p.name, sel, err)
	}
	return s
}

// waitText waits until an element matching sel has exactly this text.
func (p *person) waitText(what, sel, want string, timeout time.Duration) {
	p.t.Helper()
	p.waitFor(what, sel, fmt.Sprintf(`(e) => e.textContent === %q`, want), timeout)
}

// waitTextPrefix waits until an element matching sel has text starting with prefix.
func (p *person) waitTextPrefix(what, sel, prefix string, timeout time.Duration) {
	p.t.Helper()
	p.waitFor(what, sel, fmt.Sprintf(`(e) => e.textContent.startsWith(%q)`, prefix), timeout)
}

// waitFor waits until an element matching sel satisfies the JavaScript predicate.
func (p *person) waitFor(what, sel, pred string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	expr := fmt.Sprintf(`[...document.querySelectorAll(%q)].some(%s)`, sel, pred)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		p.t.Fatalf("%s: %s: no %s where %s within %s: %v", p.name, what, sel, pred, timeout, err)
	}
}

// checkPage: the page reported no problem and no CSP violation, every
// control has an accessible name, and nothing is wider than the screen.
func (p *person) checkPage(where string) {
	p.t.Helper()
	violations := eval[[]string](p, `window.__csp || []`)
	unlabelled := eval[[]string](p, `[...document.querySelectorAll('input, textarea, button, select, a[href]')]
	  .filter((e) => e.offsetParent !== null)
	  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
	  .map((e) => e.outerHTML.slice(0, 80))`)
	overflow := eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth + 1`)
	p.mu.Lock()
	problems := append([]string(nil), p.problems...)
	p.mu.Unlock()
	for _, v := range violations {
		p.t.Errorf("%s, %s: CSP violation: %s", p.name, where, v)
	}
	for _, pr := range problems {
		p.t.Errorf("%s, %s: %s", p.name, where, pr)
	}
	for _, u := range unlabelled {
		p.t.Errorf("%s, %s: control without a label: %s", p.name, where, u)
	}
	if overflow {
		p.t.Errorf("%s, %s: the page is wider than the screen", p.name, where)
	}
	if p.t.Failed() {
		p.t.FailNow()
	}
}

func (p *person) screenshot(file string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return ""
	}
	path := filepath.Join(p.b.artifacts, file)
	if os.WriteFile(path, png, 0o644) != nil {
		return ""
	}
	return path
}

func (p *person) saveArtifacts() {
	shot := p.screenshot(p.name + ".png")
	p.mu.Lock()
	lines := strings.Join(p.console, "\n") + "\n"
	p.mu.Unlock()
	logFile := filepath.Join(p.b.artifacts, p.name+"-console.log")
	_ = os.WriteFile(logFile, []byte(lines), 0o644)
	p.t.Logf("%s: screenshot %s, browser console %s", p.name, shot, logFile)
}

// Keyboard use: focus a field, type, and press Enter to submit its form.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	// chromedp.Clear resets the value attribute only, not what was typed.
	clear := chromedp.Evaluate[any](fmt.Sprintf(`document.querySelector(%q).value = ''`, sel))
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), void(clear), chromedp.SendKeys(chromedp.CSS(sel), text))
}

func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

const enter = kb.Enter
