// Package render turns typed page data into HTML. Templates are parsed once
// at start; each render clones the page's template set and binds the
// translation functions to the request's language, so concurrent requests in
// different languages never mix (TestConcurrentLanguages).
package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"tawasul/internal/i18n"
	"tawasul/internal/tawasul"
)

// Base is what every page needs; page data types embed it.
type Base struct {
	Lang      *i18n.Lang
	User      *tawasul.User // nil when nobody is signed in
	SwitchURL string        // the same page in the other language
	Simulator bool          // show the simulator banner
	Flash     string        // a one-time notice, already translated
	Now       time.Time
}

// Page is implemented by every page data type through the embedded Base.
type Page interface{ BasePtr() *Base }

// BasePtr returns b; it makes every type that embeds Base a Page.
func (b *Base) BasePtr() *Base { return b }

// Engine renders the pages in a template directory.
type Engine struct {
	pages  map[string]*template.Template
	assets map[string]string // static path → content hash, for cache busting
}

// New parses layout.html and every pages/*.html of templates, and hashes the
// files of static for versioned asset URLs. It fails if any template does
// not parse.
func New(templates, static fs.FS) (*Engine, error) {
	e := &Engine{pages: map[string]*template.Template{}, assets: map[string]string{}}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		e.assets[p] = hex.EncodeToString(sum[:4])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("render: hash static files: %w", err)
	}
	pages, err := fs.Glob(templates, "pages/*.html")
	if err != nil {
		return nil, err
	}
	partials, _ := fs.Glob(templates, "partials/*.html")
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		files := append([]string{"layout.html"}, partials...)
		files = append(files, p)
		t, err := template.New(name).Funcs(e.funcs(nil)).ParseFS(templates, files...)
		if err != nil {
			return nil, fmt.Errorf("render: parse %s: %w", p, err)
		}
		e.pages[name] = t
	}
	return e, nil
}

// funcs returns the template functions bound to lang (nil at parse time).
func (e *Engine) funcs(lang *i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return lang.T(key, args...) },
		"plural": func(key string, n int, args ...any) string {
			return lang.Plural(key, n, args...)
		},
		"date":     func(t time.Time) string { return lang.Date(t) },
		"datetime": func(t time.Time) string { return lang.DateTime(t) },
		"roleName": func(r tawasul.Role) string { return lang.T("role." + string(r)) },
		"asset":    e.AssetURL,
	}
}

// AssetURL returns the URL of a static file with its content hash, e.g.
// /static/css/app.css?v=1a2b3c4d. Unknown files get no version.
func (e *Engine) AssetURL(p string) string {
	if v, ok := e.assets[p]; ok {
		return "/static/" + p + "?v=" + v
	}
	return "/static/" + p
}

// Has reports whether a page template exists.
func (e *Engine) Has(page string) bool { _, ok := e.pages[page]; return ok }

// Render writes page with data in data's language. It renders into a buffer
// first, so a template error becomes a clean error instead of half a page.
func (e *Engine) Render(w http.ResponseWriter, status int, page string, data Page) error {
	return e.write(w, status, page, "layout", data)
}

// Fragment writes the template called name, defined in page's file, without
// the layout: a part of the page for htmx to swap in. Like Render, it
// renders into a buffer first.
func (e *Engine) Fragment(w http.ResponseWriter, status int, page, name string, data Page) error {
	return e.write(w, status, page, name, data)
}

func (e *Engine) write(w http.ResponseWriter, status int, page, name string, data Page) error {
	var buf bytes.Buffer
	if err := e.execute(&buf, page, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Execute renders page into w.
func (e *Engine) Execute(w io.Writer, page string, data Page) error {
	return e.execute(w, page, "layout", data)
}

// execute renders the template name of page's set into w.
func (e *Engine) execute(w io.Writer, page, name string, data Page) error {
	t, ok := e.pages[page]
	if !ok {
		return fmt.Errorf("render: no page %q", page)
	}
	b := data.BasePtr()
	if b.Lang == nil {
		return fmt.Errorf("render: page %q has no language", page)
	}
	if b.Now.IsZero() {
		b.Now = time.Now()
	}
	c, err := t.Clone()
	if err != nil {
		return fmt.Errorf("render: clone %s: %w", page, err)
	}
	if err := c.Funcs(e.funcs(b.Lang)).ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("render: %s: %w", page, err)
	}
	return nil
}
