package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"tawasul/internal/i18n"
	"tawasul/internal/tawasul"
)

type ctxKey int

const (
	langKey ctxKey = iota
	userKey
)

// clientIP sets the client IP chi's GetClientIP returns: the TCP peer, or
// the X-Forwarded-For entry added by a trusted proxy.
func (s *Server) clientIP() func(http.Handler) http.Handler {
	if len(s.Config.TrustedProxies) > 0 {
		return middleware.ClientIPFromXFF(s.Config.TrustedProxies...)
	}
	return middleware.ClientIPFromRemoteAddr
}

func keyByIP(r *http.Request) (string, error) {
	return httprate.CanonicalizeIP(middleware.GetClientIP(r.Context())), nil
}

// requestID gives each request an ID of its own, for its log lines and
// error page (chi's RequestID). An X-Request-Id sent by the client is
// dropped: it would let anyone write what they like, as long as they like,
// into every log line of the request.
func requestID(next http.Handler) http.Handler {
	h := middleware.RequestID(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(middleware.RequestIDHeader)
		h.ServeHTTP(w, r)
	})
}

// throttledWarn logs a warning at most once a minute, with the number of
// its kind left out since the last one logged: enough to diagnose a
// misconfiguration, without letting anyone fill the logs. The zero value
// is ready to use.
type throttledWarn struct {
	mu      sync.Mutex
	next    time.Time
	skipped int
}

func (t *throttledWarn) warn(l *slog.Logger, msg string, args ...any) {
	t.mu.Lock()
	now := time.Now()
	if now.Before(t.next) {
		t.skipped++
		t.mu.Unlock()
		return
	}
	skipped := t.skipped
	t.skipped, t.next = 0, now.Add(time.Minute)
	t.mu.Unlock()
	l.Warn(msg, append(args, "not_logged_since_last", skipped)...)
}

// recoverPanics turns a panic into a logged error and a clean 500 page.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic", "request_id", middleware.GetReqID(r.Context()),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.error(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one line per request. It logs the route pattern, never the
// raw path or query, which may hold references or phone numbers.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "-"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		level := slog.LevelInfo
		if ww.Status() >= 500 {
			level = slog.LevelError
		}
		s.Logger.LogAttrs(r.Context(), level, "http",
			slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", ww.Status()), slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", middleware.GetReqID(r.Context())))
	})
}

// securityHeaders sets a strict Content-Security-Policy (no inline script)
// and friends. River UI, a single-page app with inline styles, gets a
// slightly looser style-src.
func securityHeaders(next http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
	const cspJobs = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/admin/jobs") {
			h.Set("Content-Security-Policy", cspJobs)
		} else {
			h.Set("Content-Security-Policy", csp)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at n bytes; reading past it fails with
// *http.MaxBytesError, which s.error answers with 413.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				w.Header().Set("Connection", "close")
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// language picks the request's language (?lang= > cookie > Accept-Language
// > Arabic) and remembers an explicit choice in a cookie.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("lang")
		lang := s.langOf(r)
		if c, err := r.Cookie("lang"); (q == i18n.Arabic || q == i18n.English) && (err != nil || c.Value != q) {
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
				SameSite: http.SameSiteLaxMode, HttpOnly: true, Secure: s.Config.Secure()})
		}
		w.Header().Set("Content-Language", lang.Code)
		w.Header().Add("Vary", "Accept-Language, Cookie")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey, lang)))
	})
}

// langOf returns the request's language: the one the language middleware
// chose, or (outside it, e.g. in panic recovery) the same negotiation again.
func (s *Server) langOf(r *http.Request) *i18n.Lang {
	if l, ok := r.Context().Value(langKey).(*i18n.Lang); ok {
		return l
	}
	var cookie string
	if c, err := r.Cookie("lang"); err == nil {
		cookie = c.Value
	}
	return s.Catalog.Lang(i18n.Negotiate(r.URL.Query().Get("lang"), cookie, r.Header.Get("Accept-Language")))
}

const sessionUserID = "user_id"

// sessionSignedInAt is the session's sign-in time (Unix microseconds, by
// the database's clock); 0 in sessions from before it was recorded.
const sessionSignedInAt = "signed_in_at"

// loadUser puts the signed-in user, if any, in the request context. A
// disabled or deleted user's session is ended, and so is one signed in
// before the user's password last changed.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := s.Store.UserGetByID(r.Context(), id)
		switch {
		case tawasul.ErrorCode(err) == tawasul.ENOTFOUND || (err == nil && u.Disabled()):
			_ = s.sessions.Destroy(r.Context())
		case err == nil && u.PasswordChangedAt != nil &&
			u.PasswordChangedAt.UnixMicro() > s.sessions.GetInt64(r.Context(), sessionSignedInAt):
			_ = s.sessions.Destroy(r.Context()) // signed in before the password changed
		case err != nil:
			s.error(w, r, err)
			return
		default:
			r = r.WithContext(context.WithValue(r.Context(), userKey, u))
		}
		next.ServeHTTP(w, r)
	})
}

// userOf returns the signed-in user, or nil.
func userOf(r *http.Request) *tawasul.User {
	u, _ := r.Context().Value(userKey).(*tawasul.User)
	return u
}

// requireRoles lets through signed-in users with one of roles. Others are
// sent to sign in (GET) or refused with 401/403.
func (s *Server) requireRoles(roles []tawasul.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := userOf(r)
			switch {
			case u == nil && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/admin/jobs/api/"):
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
			case u == nil:
				s.error(w, r, tawasul.Errorf(tawasul.EUNAUTHORIZED, "error.unauthorized", "sign in first"))
			case !u.HasAnyRole(roles...):
				s.error(w, r, errForbidden)
			default:
				if !strings.HasPrefix(r.URL.Path, "/admin/jobs/assets/") { // River UI's content-hashed JS and CSS
					noStore(w)
				}
				next.ServeHTTP(w, r)
			}
		})
	}
}

// noStore keeps staff pages, which show residents' data, out of shared and
// browser caches (the back button after sign-out shows nothing).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-store")
}

var errForbidden = tawasul.Errorf(tawasul.EFORBIDDEN, "error.forbidden", "your role does not allow this")

// formError converts a body-reading error into a user error: 413 for a
// body over the limit, 400 for anything else.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tawasul.Errorf(tawasul.ETOOLARGE, "error.too_large", "request body too large")
	}
	return tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "malformed form: "+err.Error())
}

// errBadEncoding refuses text that is not UTF-8 (PostgreSQL would refuse
// to store or compare it).
var errBadEncoding = tawasul.Errorf(tawasul.EINVALID, "error.bad_encoding", "text must be UTF-8")

// parseForm parses a POST form, returning a user error on failure or on
// text that is not UTF-8.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	if !validUTF8(r.PostForm) {
		return errBadEncoding
	}
	return nil
}

// validUTF8 reports whether every key and value is UTF-8 text that
// PostgreSQL can store (no NUL bytes).
func validUTF8(v url.Values) bool {
	for k, vs := range v {
		if !storable(k) {
			return false
		}
		for _, s := range vs {
			if !storable(s) {
				return false
			}
		}
	}
	return true
}

func storable(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// requireUTF8 answers 400 to a request whose path or query string decodes
// to something other than UTF-8, before any handler sees it.
func (s *Server) requireUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !storable(r.URL.Path) || !validUTF8(r.URL.Query()) {
			s.error(w, r, errBadEncoding)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// popString returns the session value key and removes it, so that a notice
// is shown once. A HEAD request (answered by the GET handler, with no body
// to show it in) leaves it for the next GET.
func (s *Server) popString(r *http.Request, key string) string {
	if r.Method == http.MethodHead {
		return s.sessions.GetString(r.Context(), key)
	}
	return s.sessions.PopString(r.Context(), key)
}

// popBool is popString for a bool.
func (s *Server) popBool(r *http.Request, key string) bool {
	if r.Method == http.MethodHead {
		return s.sessions.GetBool(r.Context(), key)
	}
	return s.sessions.PopBool(r.Context(), key)
}
