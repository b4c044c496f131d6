package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"tawasul/internal/auth"
	"tawasul/internal/config"
	"tawasul/internal/conversation"
	"tawasul/internal/dbtest"
	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/render"
	"tawasul/internal/server"
	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
	"tawasul/web"
)

// The service believes it is reached at testPublicURL (as behind a proxy);
// Twilio signs that URL, whatever Host the request carries.
const (
	testAuthToken = "test12345token"
	testPublicURL = "https://tawasul.example.gov.sa"
)

type testBundle struct {
	srv   *server.Server
	ts    *httptest.Server
	store *postgres.Store
	pw    *auth.Passwords
}

type setupOpts struct {
	environ   []string
	jobsUI    http.Handler
	simulator *twiliofake.Server    // passed as Deps.Simulator (enables /dev/phone)
	river     *river.Client[pgx.Tx] // nil: an insert-only client on the test pool
	twilio    *twiliorest.Client    // passed as Deps.Twilio (fetches attachments)
}

func setup(t testing.TB, opts *setupOpts) *testBundle {
	t.Helper()
	if opts == nil {
		opts = &setupOpts{}
	}
	pool := dbtest.Pool(t)
	cfg, err := config.Load(append([]string{"DATABASE_URL=unused", "TWILIO_AUTH_TOKEN=" + testAuthToken,
		"TAWASUL_PUBLIC_URL=" + testPublicURL}, opts.environ...))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := render.New(web.Templates, web.Static)
	if err != nil {
		t.Fatal(err)
	}
	pw := auth.NewPasswords(auth.FastParams)
	store := postgres.New(pool)
	rc := opts.river
	if rc == nil {
		if rc, err = river.NewClient(riverpgxv5.New(pool), &river.Config{}); err != nil {
			t.Fatal(err)
		}
	}
	srv := server.New(server.Deps{Config: cfg, Pool: pool, Store: store, Catalog: cat, Render: eng, River: rc,
		Passwords: pw, Logger: slog.New(slog.DiscardHandler), JobsUI: opts.jobsUI, Simulator: opts.simulator, Twilio: opts.twilio,
		Conversation: &conversation.Engine{Pool: pool, Catalog: cat, FollowupWindow: cfg.FollowupWindow,
			ReferencePrefix: cfg.ReferencePrefix, CallCentre: cfg.CallCentreNumber,
			PublicURL: cfg.PublicURL, PromptTTL: cfg.PromptTTL, River: rc}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testBundle{srv: srv, ts: ts, store: store, pw: pw}
}

// addUser creates a user with roles and password "correct-horse-1".
func (b *testBundle) addUser(t *testing.T, email string, roles ...tawasul.Role) *tawasul.User {
	t.Helper()
	hash, err := b.pw.Hash(context.Background(), "correct-horse-1")
	if err != nil {
		t.Fatal(err)
	}
	p := postgres.UserInsertParams{Email: email, Name: "Test " + email, PasswordHash: hash, Roles: roles}
	if slices.Contains(roles, tawasul.RoleDepartment) {
		p.DepartmentCode = "roads"
	}
	u, err := b.store.UserInsert(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// client returns an HTTP client with its own cookie jar that does not
// follow redirects.
func (b *testBundle) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn signs c in as email and fails the test unless it succeeds.
func (b *testBundle) signIn(t *testing.T, c *http.Client, email string) {
	t.Helper()
	res := b.postForm(t, c, "/signin", url.Values{"email": {email}, "password": {"correct-horse-1"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign in %s: status %d location %q", email, res.StatusCode, res.Header.Get("Location"))
	}
}

func (b *testBundle) postForm(t *testing.T, c *http.Client, path string, form url.Values, headers ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", b.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (b *testBundle) get(t *testing.T, c *http.Client, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", b.ts.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

func TestSigninPageArabicByDefaultEnglishOnRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.client(t)
	res, body := b.get(t, c, "/signin")
	if res.StatusCode != 200 || !strings.Contains(body, `<html lang="ar" dir="rtl">`) || !strings.Contains(body, "تسجيل دخول الموظفين") {
		t.Fatalf("default sign-in page is not Arabic RTL: %d\n%s", res.StatusCode, body[:min(400, len(body))])
	}
	if !strings.Contains(body, "bootstrap.rtl.min.css") {
		t.Error("Arabic page does not load the RTL Bootstrap build")
	}
	_, body = b.get(t, c, "/signin?lang=en")
	if !strings.Contains(body, `<html lang="en" dir="ltr">`) || !strings.Contains(body, "Staff sign-in") {
		t.Fatal("?lang=en did not give English LTR")
	}
	// The choice is remembered in a cookie.
	_, body = b.get(t, c, "/signin", "Accept-Language", "ar")
	if !strings.Contains(body, `lang="en"`) {
		t.Error("language choice not remembered")
	}
	// Accept-Language is used without a cookie.
	_, body = b.get(t, b.client(t), "/signin", "Accept-Language", "en-GB,en;q=0.8")
	if !strings.Contains(body, `dir="ltr"`) {
		t.Error("Accept-Language: en not honoured")
	}
}

func TestSigninFlow(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "agent@example.org", tawasul.RoleAgent)
	c := b.client(t)

	res, _ := b.get(t, c, "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("anonymous home: %d %q, want redirect to /signin", res.StatusCode, res.Header.Get("Location"))
	}
	res = b.postForm(t, c, "/signin", url.Values{"email": {"agent@example.org"}, "password": {"wrong-password"}})
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "البريد الإلكتروني أو كلمة المرور غير صحيحة") {
		t.Fatalf("wrong password: %d, want 401 with the Arabic message", res.StatusCode)
	}
	before := sessionCookie(c, b.ts.URL)
	b.signIn(t, c, "AGENT@example.org ")
	if after := sessionCookie(c, b.ts.URL); after == "" || after == before {
		t.Error("session token was not renewed at sign-in")
	}
	res, body2 := b.get(t, c, "/?lang=en")
	if res.StatusCode != 200 || !strings.Contains(body2, "Welcome, Test agent@example.org") || !strings.Contains(body2, "Call-centre agent") {
		t.Fatalf("home after sign-in: %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == "tawasul_session" && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
			t.Error("session cookie must be HttpOnly and SameSite=Lax")
		}
	}
	// Sessions live in PostgreSQL.
	var n int
	if err := b.srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n == 0 {
		t.Errorf("sessions in PostgreSQL: %d, %v", n, err)
	}
	entries, _ := b.store.AuditList(context.Background(), "signin.", 10)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "signin.ok") || !slices.Contains(actions, "signin.failed") {
		t.Errorf("audit log has %v, want signin.ok and signin.failed", actions)
	}

	res = b.postForm(t, c, "/signout", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if res, _ := b.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Error("still signed in after sign-out")
	}
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "tawasul_session" {
			return ck.Value
		}
	}
	return ""
}

func TestDisabledUserIsSignedOut(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "mod@example.org", tawasul.RoleModerator)
	c := b.client(t)
	b.signIn(t, c, "mod@example.org")
	if err := b.store.UserSetDisabled(context.Background(), "mod@example.org", true); err != nil {
		t.Fatal(err)
	}
	if res, _ := b.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("disabled user still served: %d", res.StatusCode)
	}
	res := b.postForm(t, c, "/signin", url.Values{"email": {"mod@example.org"}, "password": {"correct-horse-1"}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user signed in: %d", res.StatusCode)
	}
}

// TestNewPasswordEndsOlderSessions: setting a password (tawasul user
// set-password) signs out every session signed in before it, on its next
// request; signing in again with the new password works, and that session
// stays.
func TestNewPasswordEndsOlderSessions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "sup@example.org", tawasul.RoleSupervisor)
	before, other := b.client(t), b.client(t)
	b.signIn(t, before, "sup@example.org")
	b.signIn(t, other, "sup@example.org")
	if res, _ := b.get(t, before, "/"); res.StatusCode != 200 {
		t.Fatalf("signed in: %d", res.StatusCode)
	}
	hash, err := b.pw.Hash(context.Background(), "correct-horse-1") // same text, new hash: still a password change
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.UserSetPassword(context.Background(), "sup@example.org", hash, false); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"first": before, "second": other} {
		if res, _ := b.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s session from before the new password: %d, want a redirect to sign in", name, res.StatusCode)
		}
	}
	after := b.client(t)
	b.signIn(t, after, "sup@example.org")
	for range 2 {
		if res, _ := b.get(t, after, "/"); res.StatusCode != 200 {
			t.Errorf("session signed in after the new password: %d", res.StatusCode)
		}
	}
}

func TestSigninRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, &setupOpts{environ: []string{"TAWASUL_SIGNIN_ACCOUNT_LIMIT=3", "TAWASUL_SIGNIN_ACCOUNT_WINDOW=15m"}})
	b.addUser(t, "sup@example.org", tawasul.RoleSupervisor)
	c := b.client(t)
	var got []int
	for range 4 {
		res := b.postForm(t, c, "/signin", url.Values{"email": {"sup@example.org"}, "password": {"nope-nope-nope"}})
		got = append(got, res.StatusCode)
	}
	if want := []int{401, 401, 401, 429}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	// Even the right password is refused while the account is locked, with a bilingual message.
	res := b.postForm(t, c, "/signin?lang=en", url.Values{"email": {"sup@example.org"}, "password": {"correct-horse-1"}})
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Try again in 15 minutes") {
		t.Errorf("locked account with right password: %d\n%s", res.StatusCode, body)
	}
	// Another account is unaffected.
	b.addUser(t, "other@example.org", tawasul.RoleAgent)
	b.signIn(t, b.client(t), "other@example.org")
}

func TestSigninRateLimitPerIP(t *testing.T) {
	t.Parallel()
	b := setup(t, &setupOpts{environ: []string{"TAWASUL_SIGNIN_IP_LIMIT=3"}})
	c := b.client(t)
	var got []int
	for i := range 4 {
		res := b.postForm(t, c, "/signin", url.Values{"email": {"u" + string(rune('a'+i)) + "@example.org"}, "password": {"x"}})
		got = append(got, res.StatusCode)
	}
	if want := []int{401, 401, 401, 429}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}

func TestCrossOriginPostRejected(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "admin@example.org", tawasul.RoleAdmin)
	c := b.client(t)
	b.signIn(t, c, "admin@example.org")
	res := b.postForm(t, c, "/signout", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "جاء من موقع آخر") {
		t.Fatalf("cross-origin POST: %d, want 403 with an explanation", res.StatusCode)
	}
	// The refusal is a page like any other: security headers, a request ID.
	if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Frame-Options") == "" {
		t.Errorf("the refusal has no security headers: %v", res.Header)
	}
	if !regexp.MustCompile(`رقم الطلب.*[A-Za-z0-9/-]{8,}`).Match(body) {
		t.Errorf("the refusal does not show its request ID:\n%s", body)
	}
	if res, _ := b.get(t, c, "/"); res.StatusCode != http.StatusOK {
		t.Error("the cross-origin sign-out took effect")
	}
	// The same request from the same origin works.
	res = b.postForm(t, c, "/signout", nil, "Sec-Fetch-Site", "same-origin")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", res.StatusCode)
	}
}

func TestErrorPages(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.client(t)
	res, body := b.get(t, c, "/no/such/page")
	if res.StatusCode != 404 || !strings.Contains(body, "الصفحة غير موجودة") {
		t.Errorf("404 page: %d", res.StatusCode)
	}
	res, body = b.get(t, c, "/no/such/page?lang=en")
	if res.StatusCode != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("English 404 page: %d", res.StatusCode)
	}
	// Caches are told the language, so one reader's 404 is not served to
	// another; the choice is kept, as on any page.
	if res.Header.Get("Content-Language") != "en" || !strings.Contains(res.Header.Get("Vary"), "Accept-Language") ||
		!strings.Contains(res.Header.Get("Set-Cookie"), "lang=en") {
		t.Errorf("English 404 headers: Content-Language %q, Vary %q, Set-Cookie %q",
			res.Header.Get("Content-Language"), res.Header.Get("Vary"), res.Header.Get("Set-Cookie"))
	}
	req405, _ := http.NewRequest("PUT", b.ts.URL+"/signin", nil)
	req405.Header.Set("Accept-Language", "en")
	if res, err := http.DefaultClient.Do(req405); err != nil || res.StatusCode != 405 || res.Header.Get("Content-Language") != "en" {
		t.Errorf("405: %v %v", err, res)
	} else {
		res.Body.Close()
	}
	// Oversized body → 413; malformed form → 400; never 500.
	big := url.Values{"email": {strings.Repeat("a", 2<<20)}}
	res = b.postForm(t, c, "/signin", big)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d, want 413", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", b.ts.URL+"/signin", strings.NewReader("email=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res2, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed form: %d, want 400", res2.StatusCode)
	}
	res, _ = b.get(t, c, "/healthz")
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestPanicGivesCleanErrorPage(t *testing.T) {
	t.Parallel()
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	b := setup(t, &setupOpts{jobsUI: boom})
	b.addUser(t, "admin@example.org", tawasul.RoleAdmin)
	c := b.client(t)
	b.signIn(t, c, "admin@example.org")
	res, body := b.get(t, c, "/admin/jobs/x?lang=en")
	if res.StatusCode != 500 || !strings.Contains(body, "Server error") || strings.Contains(body, "boom") {
		t.Errorf("panic: %d, want a clean 500 page without the panic text", res.StatusCode)
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.client(t)
	if res, _ := b.get(t, c, "/healthz"); res.StatusCode != 200 {
		t.Errorf("healthz %d", res.StatusCode)
	}
	if res, _ := b.get(t, c, "/readyz"); res.StatusCode != 200 {
		t.Errorf("readyz %d", res.StatusCode)
	}
	b.srv.MigrationsCurrent = func(context.Context) (bool, error) { return false, nil }
	if res, body := b.get(t, c, "/readyz"); res.StatusCode != 503 || !strings.Contains(body, "migrations pending") {
		t.Errorf("readyz with pending migrations: %d %q", res.StatusCode, body)
	}
	b.srv.Pool.Close()
	if res, _ := b.get(t, c, "/readyz"); res.StatusCode != 503 {
		t.Errorf("readyz with the database gone: %d", res.StatusCode)
	}
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	c := b.client(t)
	res, _ := b.get(t, c, "/static/css/app.css?v=abc")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned asset: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	for _, path := range []string{"/static/vendor/", "/static/vendor", "/static/nope.css", "/static/%2e%2e/x", "/static/a%2fb.css"} {
		res, body := b.get(t, c, path)
		if res.StatusCode != 404 || !strings.Contains(body, `lang="ar"`) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, want the Arabic 404 page (no listing, no plain-text error)", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

// TestRoleMatrix walks the whole route table: every route is declared public
// or staff-with-roles, and every staff route refuses each role it does not
// list (403) and admits each role it lists.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	sim := twiliofake.New(twiliofake.Options{AccountSID: twiliofake.NewSID("AC"), AuthToken: testAuthToken})
	t.Cleanup(func() { _ = sim.Close() })
	b := setup(t, &setupOpts{jobsUI: ok, simulator: sim})

	declared := map[string]server.RouteSpec{}
	for _, r := range b.srv.Routes() {
		declared[r.Pattern] = r
	}
	var walked []string
	router := chiRouter(t, b.srv)
	_ = chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		walked = append(walked, method+" "+route)
		if _, ok := declared[route]; !ok {
			t.Errorf("route %s %s is not declared with s.public, s.staff or s.mount", method, route)
		}
		return nil
	})
	if len(walked) < 5 {
		t.Fatalf("walked only %v", walked)
	}

	clients := map[tawasul.Role]*http.Client{}
	for _, role := range tawasul.AllRoles {
		email := string(role) + "@example.org"
		b.addUser(t, email, role)
		clients[role] = b.client(t)
		b.signIn(t, clients[role], email)
	}
	for _, r := range b.srv.Routes() {
		if r.Access != server.Staff {
			continue
		}
		method := r.Method
		if method == "*" {
			method = "GET"
		}
		path := strings.ReplaceAll(r.Pattern, "*", "x")
		// Anonymous users never get through.
		req, _ := http.NewRequest(method, b.ts.URL+path, nil)
		res, err := b.client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s anonymous: %d, want redirect or 401", method, path, res.StatusCode)
		}
		for _, role := range tawasul.AllRoles {
			req, _ := http.NewRequest(method, b.ts.URL+path, nil)
			res, err := clients[role].Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			allowed := slices.Contains(r.Roles, role)
			if allowed && (res.StatusCode == 403 || res.StatusCode == 401 || res.StatusCode == 303) {
				t.Errorf("%s %s as %s: %d, want allowed", method, path, role, res.StatusCode)
			}
			if allowed && !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
				t.Errorf("%s %s as %s: Cache-Control %q; staff pages must not be stored", method, path, role, res.Header.Get("Cache-Control"))
			}
			if !allowed && res.StatusCode != 403 {
				t.Errorf("%s %s as %s: %d, want 403", method, path, role, res.StatusCode)
			}
		}
	}
}

func chiRouter(t *testing.T, s *server.Server) chi.Routes {
	t.Helper()
	return server.ChiRouter(s)
}

// TestHomeShowsPreviousSignIn: the home page shows the sign-in before the
// one just made (so staff notice one that was not theirs), and nothing on
// a first sign-in.
func TestHomeShowsPreviousSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "sup@example.org", tawasul.RoleSupervisor)
	first := b.client(t)
	b.signIn(t, first, "sup@example.org")
	if _, body := b.get(t, first, "/"); strings.Contains(body, "الدخول السابق") {
		t.Errorf("first sign-in shows a previous one")
	}
	if _, err := b.srv.Pool.Exec(context.Background(),
		`UPDATE users SET last_sign_in_at = '2026-03-01 09:15:00+03' WHERE email = 'sup@example.org'`); err != nil {
		t.Fatal(err)
	}
	second := b.client(t)
	b.signIn(t, second, "sup@example.org")
	if _, body := b.get(t, second, "/?lang=en"); !strings.Contains(body, "Previous sign-in:") || !strings.Contains(body, "1 March 2026, 09:15") {
		t.Errorf("second sign-in does not show the first (1 March 2026): %s", body)
	}
	// The first session is told of the second, which was not its own.
	if _, body := b.get(t, first, "/?lang=en"); !strings.Contains(body, "Another sign-in to your account since this one:") {
		t.Errorf("first session not told of a later sign-in: %s", body)
	}
	if _, body := b.get(t, second, "/?lang=en"); strings.Contains(body, "Another sign-in") {
		t.Errorf("second session told of its own sign-in as another")
	}
}

// TestSigninRacingNewPassword: a sign-in whose password was replaced after
// it was checked records nothing and is refused, so its session cannot
// outlive the new password.
func TestSigninRacingNewPassword(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	u := b.addUser(t, "sup@example.org", tawasul.RoleSupervisor)
	_, checked, err := b.store.UserCredentials(context.Background(), "sup@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.UserSetPassword(context.Background(), "sup@example.org", "$argon2id$replaced", false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UserSignedIn(context.Background(), u.ID, checked); tawasul.ErrorCode(err) != tawasul.EUNAUTHORIZED {
		t.Errorf("sign-in with the replaced password recorded: %v, want unauthorized", err)
	}
	if _, err := b.store.UserSignedIn(context.Background(), u.ID, "$argon2id$replaced"); err != nil {
		t.Errorf("sign-in with the current password: %v", err)
	}
}
