package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/auth"
	"tawasul/internal/postgres"
	"tawasul/internal/render"
	"tawasul/internal/tawasul"
)

// HomeLink is one entry of the staff home's list of pages.
type HomeLink struct {
	URL, Title, Desc string // Title and Desc are catalog keys
	Roles            []tawasul.Role
	Available        func(*Server) bool // nil: always; else whether the page exists in this configuration
}

// homeLinks lists the pages a role can open from the home page. Features add
// their pages here.
var homeLinks = []HomeLink{
	{URL: "/submissions", Title: "submissions.home_link", Desc: "submissions.home_link_desc", Roles: submissionReaders},
	{URL: "/admin/jobs/", Title: "home.links.jobs", Desc: "home.links.jobs_desc", Roles: admins,
		Available: func(s *Server) bool { return s.JobsUI != nil }},
	{URL: "/dev/phone", Title: "devphone.link", Desc: "devphone.link_desc", Roles: devPhoneUsers,
		Available: func(s *Server) bool { return s.Simulator != nil }},
}

// HomePage is the data of the staff home page.
type HomePage struct {
	render.Base
	Links  []HomeLink
	Alerts []*tawasul.Alert // open alerts, for admins
	// SignIn is the sign-in staff are shown so that they notice one that
	// was not theirs: the latest, when it is not this session's own
	// (SignInElsewhere), else the one before it; nil on a first sign-in.
	SignIn          *time.Time
	SignInElsewhere bool
}

// handleHome says who the user is and links to what their roles allow.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	p := &HomePage{SignIn: u.PreviousSignInAt}
	// Sessions from before the sign-in time was kept (own 0) cannot tell.
	if own := s.sessions.GetInt64(r.Context(), sessionSignedInAt); own != 0 && u.LastSignInAt != nil && u.LastSignInAt.UnixMicro() > own {
		p.SignIn, p.SignInElsewhere = u.LastSignInAt, true
	}
	for _, l := range homeLinks {
		if u.HasAnyRole(l.Roles...) && (l.Available == nil || l.Available(s)) {
			p.Links = append(p.Links, l)
		}
	}
	if u.HasAnyRole(tawasul.RoleAdmin) {
		alerts, err := s.Store.AlertsOpen(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		p.Alerts = alerts
	}
	s.page(w, r, http.StatusOK, "home", p)
}

// handleAlertResolve marks an alert resolved (an admin fixed the cause) and
// goes home. The same problem happening again opens a new alert.
func (s *Server) handleAlertResolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	u := userOf(r)
	if err := s.Store.AlertResolve(r.Context(), id, u.ID); err != nil {
		s.error(w, r, err)
		return
	}
	_ = s.Store.AuditInsert(r.Context(), postgres.AuditEntry{UserID: &u.ID, Actor: auth.ActorUser(u.ID), Action: "alert.resolved",
		Subject: strconv.FormatInt(id, 10), IP: middleware.GetClientIP(r.Context())})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
