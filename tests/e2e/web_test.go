package e2e

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The web client in Chromium: two people in separate browser contexts sign
// up, make profiles, become friends, and a post reaches the other's open
// feed without a reload. User content holding markup stays text.
func TestWebClient(t *testing.T) {
	_, base := gateway(t)
	b := startBrowser(t)
	const xss = `<img src=x onerror=alert(1)>`
	stamp := time.Now().UnixNano()

	// The CSP and the other headers, as the browser got them.
	r := call(t, "GET", "/", "", nil)
	if r.status != 200 {
		t.Fatalf("GET /: %d", r.status)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("GET /: %s %q, want %q", h, r.header.Get(h), want)
		}
	}
	if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q lacks frame-ancestors 'none'", r.header.Get("Content-Security-Policy"))
	}

	alice := b.person(t, "alice", 1100, 900)
	bob := b.person(t, "bob", 390, 844) // a phone-sized screen

	// First page, cold cache (a fresh browser context each time): its weight
	// and time to interactive, over a few loads; Alice's is the last.
	var samples []firstPageLoad
	visitor := b.person(t, "visitor", 1100, 900)
	for i := range 4 {
		p := alice
		switch {
		case i == 0:
			p = visitor
		case i < 3:
			p = b.person(t, fmt.Sprintf("visitor%d", i), 1100, 900)
		}
		samples = append(samples, firstPage(p, base))
	}
	slices.SortFunc(samples, func(x, y firstPageLoad) int { return cmp.Compare(x.Ready, y.Ready) })
	med := samples[len(samples)/2]
	t.Logf("web: first page %d files, %.1f KB compressed; interactive (app-ready mark) median %.0f ms (min %.0f, max %.0f) over %d cold loads; median load's domInteractive %.0f ms, load event %.0f ms",
		med.Files, float64(med.Bytes)/1024, med.Ready, samples[0].Ready, samples[len(samples)-1].Ready, len(samples), med.DOMInteractive, med.Load)
	for _, s := range samples {
		if s.Bytes > 100<<10 || s.Bytes == 0 {
			t.Errorf("first page weighs %d bytes compressed, budget 100 KiB", s.Bytes)
		}
	}
	alice.checkPage("login page")

	// The hourly login limit, explained with the wait from Retry-After.
	limited := newAccount(t, "limited") // one login
	for range 9 {
		login(t, limited)
	}
	visitor.do("eleventh login", typeInto(`input[name=email]`, limited.email), typeInto(`input[name=password]`, limited.password+enter))
	visitor.waitTextPrefix("login limit", `main .message.error`,
		"This account has already logged in 10 times in the last hour, the most allowed. Please try again in ", 15*time.Second)
	visitor.checkPage("login limit")

	// Both sign up (then are logged in) and log out; Alice logs back in by
	// keyboard after a wrong password.
	signUp := func(p *person, email, password string) {
		p.do("register",
			chromedp.Navigate(base+"/#/register"),
			typeInto(`input[name=email]`, email),
			typeInto(`input[name=new-password]`, password+enter),
			chromedp.WaitVisible(chromedp.CSS(`#nav a[href="#/feed"]`)))
		p.checkPage("after registering")
		p.do("log out", click(`#logout`), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
		if got := p.text(`main .message.ok`); got != "You have logged out." {
			t.Fatalf("%s: after logout: %q", p.name, got)
		}
	}
	aliceEmail := fmt.Sprintf("web-alice-%d@example.test", stamp)
	bobEmail := fmt.Sprintf("web-bob-%d@example.test", stamp)
	signUp(alice, aliceEmail, "alice's password")
	signUp(bob, bobEmail, "bob's password")

	alice.do("wrong password", typeInto(`input[name=email]`, aliceEmail), typeInto(`input[name=password]`, "not her password"+enter))
	alice.waitText("wrong password", `main .message.error`, "That email and password do not match an account. Check both and try again.", 15*time.Second)
	logIn := func(p *person, email, password string) {
		p.do("log in", typeInto(`input[name=email]`, email), typeInto(`input[name=password]`, password+enter),
			chromedp.WaitVisible(chromedp.CSS(`#nav a[href="#/feed"]`)))
	}
	logIn(alice, aliceEmail, "alice's password")
	logIn(bob, bobEmail, "bob's password")

	// Profiles; Bob's username holds markup.
	bobName := "Bob " + xss
	makeProfile := func(p *person, username string) {
		p.do("profile", click(`#nav a[href="#/profile"]`), chromedp.WaitVisible(chromedp.CSS(`main .hint`)))
		p.waitText("no profile yet", `button[type=submit]`, "Create profile", 10*time.Second)
		p.do("create the profile", typeInto(`input[name=username]`, username), typeInto(`textarea[name=bio]`, "Hi, I am "+username),
			click(`form button[type=submit]`))
		p.waitText("profile saved", `main .message.ok`, "Profile saved.", 10*time.Second)
		p.checkPage("profile")
	}
	makeProfile(alice, "Alice")
	makeProfile(bob, bobName)

	// Bob shares his id; Alice adds him and sees his name in her list.
	bob.do("friends page", click(`#nav a[href="#/friends"]`), chromedp.WaitVisible(chromedp.CSS(`#my-id`)))
	bobID := eval[string](bob, `document.querySelector('#my-id').value`)
	if !strings.Contains(bobID, "-") {
		t.Fatalf("bob's id %q", bobID)
	}
	alice.do("add bob", click(`#nav a[href="#/friends"]`), typeInto(`input[name=friend]`, bobID+enter))
	alice.waitText("bob in the friend list", `.friends li a`, bobName, 10*time.Second)
	alice.checkPage("friends")

	// Alice's feed is open; Bob posts; it appears there without a reload.
	alice.do("open the feed", click(`#nav a[href="#/feed"]`), chromedp.WaitVisible(chromedp.CSS(`#feed-list .empty`)))
	eval[bool](alice, `window.__sameDocument = true`)
	post := "Hello Alice! " + xss + " <script>alert(2)</script>"
	bob.do("write a post", click(`#nav a[href="#/posts"]`), typeInto(`textarea[name=content]`, post), click(`form button[type=submit]`))
	bob.waitText("my posts", `#my-posts .content`, post, 10*time.Second)
	bob.checkPage("my posts")
	start := time.Now()
	alice.waitText("the post in the feed", `#feed-list .content`, post, 30*time.Second)
	t.Logf("web: the post reached Alice's open feed %.1f s after it was listed on Bob's page (%s)",
		time.Since(start).Seconds(), alice.text(`#feed-mode`))
	if !eval[bool](alice, `window.__sameDocument === true`) {
		t.Error("alice's page reloaded")
	}
	alice.waitText("author as text", `#feed-list .author a`, bobName, time.Second)
	if n := eval[int](alice, `document.querySelectorAll('img, script:not([src])').length`); n != 0 {
		t.Errorf("user content became %d elements", n)
	}
	alice.screenshot("feed.png")
	alice.checkPage("feed")

	// Looking Bob up by id shows his profile and posts.
	alice.do("look up bob", click(`#nav a[href="#/lookup"]`), typeInto(`input[name=user]`, bobID+enter))
	alice.waitText("bob's profile", `#lookup-name`, bobName, 10*time.Second)
	alice.waitText("bob's posts", `#lookup-result .content`, post, 10*time.Second)
	alice.checkPage("lookup")

	// Removing him empties the list.
	alice.do("remove bob", click(`#nav a[href="#/friends"]`), click(`.friends li button`))
	alice.waitText("removed", `#friends-list .empty`, "No friends yet. Add one with their user id above.", 10*time.Second)

	// Deleting the account ends the session with the reason on the login page.
	alice.do("delete account", click(`#nav a[href="#/account"]`), typeInto(`input[name=password]`, "alice's password"),
		click(`#delete-confirm`), click(`form button.danger`))
	alice.waitFor("the deletion confirmed", `main`, `(e) => e.textContent.includes("Your account has been deleted.")`, 10*time.Second)
	alice.checkPage("account")
	bob.checkPage("end")
}

type firstPageLoad struct {
	Ready, DOMInteractive, Load float64 // ms from navigation start
	Bytes, Files                int     // compressed bodies of the document and every resource
}

// firstPage opens the client and reads the navigation and resource timing:
// interactive is the app's "app-ready" mark, set once its first screen is
// rendered and its handlers attached.
func firstPage(p *person, base string) firstPageLoad {
	p.t.Helper()
	p.do("open the client", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form button[type=submit]`)))
	return eval[firstPageLoad](p, `(async () => {
	  while (!performance.getEntriesByName('app-ready').length) await new Promise((r) => setTimeout(r, 20));
	  while (!performance.getEntriesByType('navigation')[0].loadEventEnd) await new Promise((r) => setTimeout(r, 20));
	  await new Promise((r) => setTimeout(r, 200)); // the icon may come after the load event
	  const nav = performance.getEntriesByType('navigation')[0];
	  const res = performance.getEntriesByType('resource');
	  return {
	    Ready: performance.getEntriesByName('app-ready')[0].startTime,
	    DOMInteractive: nav.domInteractive, Load: nav.loadEventEnd,
	    Bytes: [nav, ...res].reduce((n, e) => n + e.encodedBodySize, 0), Files: res.length + 1,
	  };
	})()`)
}
