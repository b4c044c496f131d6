// Package server is Tawasul's HTTP side: one chi route table (routes.go),
// middleware, and handlers that all have the same shape — parse, call the
// store or a service, then render or answer with s.error.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"tawasul/internal/auth"
	"tawasul/internal/config"
	"tawasul/internal/conversation"
	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/render"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
)

// Deps are the server's collaborators, built by package app.
type Deps struct {
	Config    *config.Config
	Pool      *pgxpool.Pool
	Store     *postgres.Store
	River     *river.Client[pgx.Tx] // may be insert-only
	Catalog   *i18n.Catalog
	Render    *render.Engine
	Passwords *auth.Passwords
	Logger    *slog.Logger
	// Conversation handles inbound SMS and WhatsApp messages.
	Conversation *conversation.Engine
	// Simulator is the built-in Twilio simulator (simulator mode only; nil
	// with a real Twilio account). It enables the /dev/phone pages.
	Simulator *twiliofake.Server
	// Twilio fetches residents' attachments for staff (Twilio or the
	// simulator); nil answers attachment requests 503.
	Twilio *twiliorest.Client
	// JobsUI serves River UI at /admin/jobs; nil leaves the route out.
	JobsUI http.Handler
	// MigrationsCurrent reports whether the schema is up to date (for /readyz).
	MigrationsCurrent func(ctx context.Context) (bool, error)
}

// Server handles HTTP requests.
type Server struct {
	Deps
	sessions *scs.SessionManager
	signin   *auth.SignIn
	routes   []RouteSpec
	apiLimit func(http.Handler) http.Handler // the API's per-token rate limit, shared by its routes
	router   chi.Router
	handler  http.Handler
	// Warnings about refused webhooks, at most one a minute each.
	unsignedWarn, badSignatureWarn throttledWarn
}

// New builds the server and its route table.
func New(d Deps) *Server {
	s := &Server{Deps: d}
	s.sessions = scs.New()
	s.sessions.Store = pgxstore.NewWithCleanupInterval(d.Pool, 0) // jobs.PurgeSessions cleans up
	s.sessions.Lifetime = d.Config.SessionLifetime
	s.sessions.IdleTimeout = min(d.Config.SessionLifetime, 2*time.Hour)
	s.sessions.Cookie.Name = "tawasul_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode
	s.sessions.Cookie.Secure = d.Config.Secure()
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { s.error(w, r, err) }
	s.signin = &auth.SignIn{Store: d.Store, Passwords: d.Passwords,
		Limit: d.Config.SigninAccountLimit, Window: d.Config.SigninAccountWin}
	s.handler = s.buildRoutes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns every route with the roles it admits, for the role-matrix
// test and docs.
func (s *Server) Routes() []RouteSpec { return s.routes }
