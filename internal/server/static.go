package server

import (
	"net/http"
	"strings"

	"tawasul/web"
)

var staticFiles = http.StripPrefix("/static/", http.FileServerFS(web.Static))

// handleStatic serves embedded assets. Versioned URLs (?v=hash, from the
// asset template function) are cached for a year; others must revalidate.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		s.notFound(w, r) // no directory listings
		return
	}
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	staticFiles.ServeHTTP(w, r)
}
