package server

import (
	"net/http"

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
	{URL: "/admin/jobs/", Title: "home.links.jobs", Desc: "home.links.jobs_desc", Roles: admins,
		Available: func(s *Server) bool { return s.JobsUI != nil }},
}

// HomePage is the data of the staff home page.
type HomePage struct {
	render.Base
	Links []HomeLink
}

// handleHome says who the user is and links to what their roles allow.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	p := &HomePage{}
	for _, l := range homeLinks {
		if u.HasAnyRole(l.Roles...) && (l.Available == nil || l.Available(s)) {
			p.Links = append(p.Links, l)
		}
	}
	s.page(w, r, http.StatusOK, "home", p)
}
