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
	API                  // a JSON API request with a bearer token whose role is one of the route's roles (docs/api.md)
)

// RouteSpec is one entry of the route table.
type RouteSpec struct {
	Method  string // "*" for a mounted sub-handler
	Pattern string
	Access  Access
	Roles   []tawasul.Role // for Staff and API routes; every role listed may use it
}

var (
	allStaff = tawasul.AllRoles
	admins   = []tawasul.Role{tawasul.RoleAdmin}

	// Submissions: department users see only their department's (pages);
	// API tokens carry no department, so department tokens get 403.
	submissionReaders = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent, tawasul.RoleModerator, tawasul.RoleDepartment}
	// personalDataRoles may see residents' phone numbers (Role.SeesPersonalData).
	personalDataRoles    = rolesWhere(tawasul.Role.SeesPersonalData)
	apiSubmissionReaders = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent, tawasul.RoleModerator}
	// Phone-keyed API routes: the roles that may see personal data
	// (Role.SeesPersonalData) except department, whose tokens get 403 on
	// every API route (tokens carry no department).
	apiPersonalData = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent}
	// The pretend phone shows a number's whole thread, whatever department
	// its submissions went to, so department users (who see only their
	// own department's) may not use it.
	devPhoneUsers = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent}
)

// buildRoutes is the route table: every URL Tawasul answers, who may use it,
// and the handler. Middleware order: request ID → HEAD as GET → client IP → recover →
// access log → security headers → compression → body limit; Twilio
// webhooks then check the signature before anything else; every other
// route gets language → cross-origin (CSRF) check → UTF-8 check, and then
// browser pages add sessions, staff pages the role check, API routes the
// token check.
func (s *Server) buildRoutes() http.Handler {
	r := chi.NewRouter()
	s.router = r
	r.Use(requestID)
	r.Use(middleware.GetHead) // HEAD is answered wherever GET is
	r.Use(s.clientIP())
	r.Use(s.recoverPanics)
	r.Use(s.accessLog)
	r.Use(securityHeaders)
	r.Use(middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"))
	r.Use(limitBody(1 << 20))
	// Error pages in the reader's language, with Content-Language and Vary.
	r.NotFound(s.language(http.HandlerFunc(s.notFound)).ServeHTTP)
	r.MethodNotAllowed(s.language(http.HandlerFunc(s.methodNotAllowed)).ServeHTTP)

	// Probes for load balancers and orchestrators.
	s.public(r, "GET", "/healthz", s.handleHealthz)
	s.public(r, "GET", "/readyz", s.handleReadyz)

	// Static assets, content-hashed URLs cached for a year.
	s.public(r, "GET", "/static/*", s.handleStatic)

	// Twilio webhooks: signed, no session, no CSRF token (Twilio sends no
	// Origin header); the signature check runs before anything is parsed,
	// the query string included, so an unsigned request gets 403 whatever
	// it carries.
	r.Group(func(r chi.Router) {
		r.Use(s.requireTwilioSignature)
		s.public(r, "POST", "/twilio/sms", s.handleTwilioSMS)
		s.public(r, "POST", "/twilio/sms/status", s.handleTwilioSMSStatus)
	})

	// Every other route: the reader's language (?lang=, cookie,
	// Accept-Language); CSRF: cross-site state changes refused
	// (Sec-Fetch-Site / Origin checks), and session cookies are also
	// SameSite=Lax (API clients send neither header and are authenticated
	// by token); text that is not UTF-8 refused.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, tawasul.Errorf(tawasul.EFORBIDDEN, "error.cross_origin", "cross-origin request refused"))
	}))
	rest := r.With(s.language, cop.Handler, s.requireUTF8)

	// JSON API (docs/api.md): bearer tokens, no session, no cookies; errors
	// in JSON. The phone filter of /submissions is refused (403) to roles
	// that may not see personal data. Each token may make
	// TAWASUL_API_TOKEN_LIMIT requests a minute, over all these routes
	// together (s.apiLimit, used by s.api).
	s.apiLimit = httprate.LimitBy(s.Config.APITokenLimit, time.Minute, keyByToken,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) { s.apiError(w, r, errTokenRateLimited) }))
	rest.Group(func(r chi.Router) {
		s.api(r, "GET", "/api/v1/submissions", apiSubmissionReaders, s.handleAPISubmissionList)
		s.api(r, "GET", "/api/v1/submissions/{reference}", apiSubmissionReaders, s.handleAPISubmissionGet)
		s.api(r, "GET", "/api/v1/submissions/{reference}/media/{message}/{n}", apiSubmissionReaders, s.handleAPISubmissionMedia)
		s.api(r, "GET", "/api/v1/messages", apiPersonalData, s.handleAPIMessageList)
		s.api(r, "GET", "/api/v1/contacts/{phone}", apiPersonalData, s.handleAPIContactGet)
	})

	// Browser pages: sessions from here on.
	rest.Group(func(r chi.Router) {
		r.Use(s.sessions.LoadAndSave)
		r.Use(s.loadUser)

		// Sign-in and sign-out.
		s.public(r, "GET", "/signin", s.handleSigninPage)
		signinLimit := httprate.LimitBy(s.Config.SigninIPLimit, time.Minute, keyByIP,
			httprate.WithLimitHandler(s.handleSigninRateLimited))
		s.public(r.With(signinLimit), "POST", "/signin", s.handleSignin)
		s.public(r, "POST", "/signout", s.handleSignout)

		// Questions sent by SMS (ratings, …) answered on the web: public,
		// reached by the unguessable token in the message's link.
		s.public(r, "GET", "/r/{token}", s.handlePromptPage)
		s.public(r, "POST", "/r/{token}", s.handlePromptAnswer)

		// Staff home.
		s.staff(r, "GET", "/", allStaff, s.handleHome)
		s.staff(r, "POST", "/admin/alerts/{id}/resolve", admins, s.handleAlertResolve)

		// Simulator mode only: the pretend handset (404 with a real Twilio
		// account). The resident's number is kept in the session, not the URL.
		if s.Simulator != nil {
			s.staff(r, "GET", "/dev/phone", devPhoneUsers, s.handleDevPhone)
			s.staff(r, "POST", "/dev/phone", devPhoneUsers, s.handleDevPhoneSend)
			s.staff(r, "GET", "/dev/phone/thread", devPhoneUsers, s.handleDevPhoneThread)
		}

		// Submissions: filtered list, and one submission with its timeline.
		s.staff(r, "GET", "/submissions", submissionReaders, s.handleSubmissionList)
		s.staff(r, "POST", "/submissions/by-phone", personalDataRoles, s.handleSubmissionsByPhone)
		s.staff(r, "GET", "/submissions/{reference}", submissionReaders, s.handleSubmissionView)
		s.staff(r, "POST", "/submissions/{reference}/messages", submissionRepliers, s.handleSubmissionReply)
		s.staff(r, "GET", "/submissions/{reference}/media/{message}/{n}", submissionReaders, s.handleSubmissionMedia)

		// River UI: jobs, queues, retries (it changes state, so admins only).
		if s.JobsUI != nil {
			s.mount(r, "/admin/jobs", admins, s.JobsUI)
		}
	})
	return r
}

// rolesWhere lists the roles for which keep is true, in display order.
func rolesWhere(keep func(tawasul.Role) bool) []tawasul.Role {
	var roles []tawasul.Role
	for _, r := range tawasul.AllRoles {
		if keep(r) {
			roles = append(roles, r)
		}
	}
	return roles
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

// api registers a JSON API route for bearer tokens with one of roles.
func (s *Server) api(r chi.Router, method, pattern string, roles []tawasul.Role, h http.HandlerFunc) {
	s.routes = append(s.routes, RouteSpec{Method: method, Pattern: pattern, Access: API, Roles: roles})
	r.With(s.requireToken(roles), s.apiLimit).Method(method, pattern, h)
}

// mount registers a sub-handler for signed-in staff with one of roles.
func (s *Server) mount(r chi.Router, pattern string, roles []tawasul.Role, h http.Handler) {
	s.routes = append(s.routes, RouteSpec{Method: "*", Pattern: pattern + "/*", Access: Staff, Roles: roles})
	r.With(s.requireRoles(roles)).Mount(pattern, h)
}
