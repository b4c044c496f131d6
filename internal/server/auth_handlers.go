package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/auth"
	"tawasul/internal/postgres"
	"tawasul/internal/render"
	"tawasul/internal/tawasul"
)

// SigninPage is the data of the sign-in page.
type SigninPage struct {
	render.Base
	Email string
	Error string
}

// handleSigninPage shows the sign-in form, or goes home when signed in.
func (s *Server) handleSigninPage(w http.ResponseWriter, r *http.Request) {
	if userOf(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := &SigninPage{}
	if s.popBool(r, "signed_out") {
		p.Flash = s.langOf(r).T("signin.signed_out")
	}
	s.page(w, r, http.StatusOK, "signin", p)
}

// handleSignin checks the credentials, renews the session token (against
// session fixation) and goes home. Failures re-show the form with a message
// in the user's language: 401 for wrong credentials, 429 when the account
// is temporarily locked.
func (s *Server) handleSignin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	email := r.PostForm.Get("email")
	ip := middleware.GetClientIP(r.Context())
	user, err := s.signin.Check(r.Context(), email, r.PostForm.Get("password"), ip)
	if err != nil {
		lang := s.langOf(r)
		var msg string
		status := statusOf[tawasul.ErrorCode(err)]
		switch tawasul.ErrorCode(err) {
		case tawasul.EUNAUTHORIZED:
			msg = lang.T("signin.invalid")
		case tawasul.ERATELIMIT:
			msg = lang.T("signin.too_many_attempts", "Wait", lang.Plural("count.minutes", int(s.Config.SigninAccountWin/time.Minute)))
		default:
			s.error(w, r, err)
			return
		}
		s.page(w, r, status, "signin", &SigninPage{Email: email, Error: msg})
		return
	}
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.error(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessionUserID, user.ID)
	s.sessions.Put(r.Context(), sessionSignedInAt, user.LastSignInAt.UnixMicro())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleSigninRateLimited answers sign-in attempts over the per-IP limit.
func (s *Server) handleSigninRateLimited(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusTooManyRequests, "signin", &SigninPage{Error: s.langOf(r).T("signin.rate_limited")})
}

// handleSignout ends the session.
func (s *Server) handleSignout(w http.ResponseWriter, r *http.Request) {
	if u := userOf(r); u != nil {
		_ = s.Store.AuditInsert(r.Context(), postgres.AuditEntry{UserID: &u.ID, Actor: auth.ActorUser(u.ID),
			Action: auth.ActionSignout, Subject: u.Email, IP: middleware.GetClientIP(r.Context())})
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.sessions.RenewToken(r.Context()); err == nil {
		s.sessions.Put(r.Context(), "signed_out", true)
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
