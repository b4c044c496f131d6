package server

import (
	"io/fs"
	"net/http"
	"strings"

	"tawasul/web"
)

var staticFiles = http.StripPrefix("/static/", http.FileServerFS(web.Static))

// handleStatic serves embedded assets. Versioned URLs (?v=hash, from the
// asset template function) are cached for a year; others must revalidate.
// A path that names no file (a directory, a missing file, "..") gets the
// reader's 404 page: no directory listings, no plain-text English error.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if fi, err := fs.Stat(web.Static, strings.TrimPrefix(r.URL.Path, "/static/")); err != nil || fi.IsDir() {
		s.language(http.HandlerFunc(s.notFound)).ServeHTTP(w, r)
		return
	}
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	staticFiles.ServeHTTP(w, r)
}
