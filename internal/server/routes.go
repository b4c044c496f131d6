package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"tawasul/internal/tawasul"
)

// Access says who may use a route.
type Access int

const (
	Public Access = iota // anyone, no session (health checks, static files, sign-in)
	Staff                // a signed-in staff user with one of the route's roles
)

// RouteSpec is one entry of the route table.
type RouteSpec struct {
	Method  string // "*" for a mounted sub-handler
	Pattern string
	Access  Access
	Roles   []tawasul.Role // for Staff routes; every role listed may use it
}

var (
	allStaff = tawasul.AllRoles
	admins   = []tawasul.Role{tawasul.RoleAdmin}
)

// buildRoutes is the route table: every URL Tawasul answers, who may use it,
// and the handler. Middleware order: request ID → client IP → recover →
// access log → security headers → body limit → language; browser pages add
// sessions; staff pages add the role check.
func (s *Server) buildRoutes() http.Handler {
	r := chi.NewRouter()
	s.router = r
	r.Use(middleware.RequestID)
	r.Use(s.clientIP())
	r.Use(s.recoverPanics)
	r.Use(s.accessLog)
	r.Use(securityHeaders)
	r.Use(middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"))
	r.Use(limitBody(1 << 20))
	r.Use(s.language)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// Probes for load balancers and orchestrators.
	s.public(r, "GET", "/healthz", s.handleHealthz)
	s.public(r, "GET", "/readyz", s.handleReadyz)

	// Static assets, content-hashed URLs cached for a year.
	s.public(r, "GET", "/static/*", s.handleStatic)

	// Twilio webhooks: signed, no session, no CSRF token (Twilio sends no
	// Origin header); the signature check runs before anything is parsed.
	r.Group(func(r chi.Router) {
		r.Use(s.requireTwilioSignature)
		s.public(r, "POST", "/twilio/sms", s.handleTwilioSMS)
		s.public(r, "POST", "/twilio/sms/status", s.handleTwilioSMSStatus)
	})

	// Browser pages: sessions from here on.
	r.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave)
		r.Use(s.loadUser)

		// Sign-in and sign-out.
		s.public(r, "GET", "/signin", s.handleSigninPage)
		signinLimit := httprate.LimitBy(s.Config.SigninIPLimit, time.Minute, keyByIP,
			httprate.WithLimitHandler(s.handleSigninRateLimited))
		s.public(r.With(signinLimit), "POST", "/signin", s.handleSignin)
		s.public(r, "POST", "/signout", s.handleSignout)

		// Staff home.
		s.staff(r, "GET", "/", allStaff, s.handleHome)

		// River UI: jobs, queues, retries (it changes state, so admins only).
		if s.JobsUI != nil {
			s.mount(r, "/admin/jobs", admins, s.JobsUI)
		}
	})
	// CSRF: refuse cross-site state changes (Sec-Fetch-Site / Origin checks);
	// session cookies are also SameSite=Lax. Twilio webhooks and API clients
	// send neither header and are authenticated by signature or token.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, tawasul.Errorf(tawasul.EFORBIDDEN, "error.cross_origin", "cross-origin request refused"))
	}))
	return cop.Handler(r)
}

// public registers a route anyone may use.
func (s *Server) public(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, RouteSpec{Method: method, Pattern: pattern, Access: Public})
	r.Method(method, pattern, h)
}

// staff registers a route for signed-in staff with one of roles.
func (s *Server) staff(r chi.Router, method, pattern string, roles []tawasul.Role, h http.HandlerFunc) {
	s.routes = append(s.routes, RouteSpec{Method: method, Pattern: pattern, Access: Staff, Roles: roles})
	r.With(s.requireRoles(roles)).Method(method, pattern, h)
}

// mount registers a sub-handler for signed-in staff with one of roles.
func (s *Server) mount(r chi.Router, pattern string, roles []tawasul.Role, h http.Handler) {
	s.routes = append(s.routes, RouteSpec{Method: "*", Pattern: pattern + "/*", Access: Staff, Roles: roles})
	r.With(s.requireRoles(roles)).Mount(pattern, h)
}
