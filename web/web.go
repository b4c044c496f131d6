// Package web embeds Tawasul's HTML templates and static assets, so the
// binary needs no files beside it. Vendored front-end libraries in
// static/vendor come from npm through `make assets` and are committed.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// Templates is the templates directory: layout.html, partials/*.html and
// pages/*.html.
var Templates, _ = fs.Sub(files, "templates")

// Static is the static directory served at /static/.
var Static, _ = fs.Sub(files, "static")
