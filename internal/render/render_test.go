package render_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"tawasul/internal/i18n"
	"tawasul/internal/render"
	"tawasul/web"
)

type errorPage struct {
	render.Base
	TitleKey, MessageKey, RequestID string
}

func newEngine(t *testing.T) (*render.Engine, *i18n.Catalog) {
	t.Helper()
	e, err := render.New(web.Templates, web.Static)
	if err != nil {
		t.Fatal(err)
	}
	c, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

// Renders Arabic and English pages at once and proves no page ever shows the
// other language (the bug miniflux fixed in 56d0b31c).
func TestConcurrentLanguages(t *testing.T) {
	e, c := newEngine(t)
	want := map[string]struct{ has, hasNot, dir string }{
		"ar": {"الصفحة غير موجودة", "Page not found", `dir="rtl"`},
		"en": {"Page not found", "الصفحة غير موجودة", `dir="ltr"`},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for i := range 400 {
		code := i18n.Codes[i%2]
		wg.Go(func() {
			var buf bytes.Buffer
			p := &errorPage{Base: render.Base{Lang: c.Lang(code)}, TitleKey: "error.not_found_title", MessageKey: "error.not_found"}
			if err := e.Execute(&buf, "error", p); err != nil {
				errs <- err.Error()
				return
			}
			s, w := buf.String(), want[code]
			if !strings.Contains(s, w.has) || strings.Contains(s, w.hasNot) || !strings.Contains(s, w.dir) {
				errs <- code + " page shows the wrong language"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestAssetURLIsVersioned(t *testing.T) {
	e, _ := newEngine(t)
	u := e.AssetURL("css/app.css")
	if !strings.HasPrefix(u, "/static/css/app.css?v=") || len(u) != len("/static/css/app.css?v=")+8 {
		t.Errorf("AssetURL = %q, want a content-hashed URL", u)
	}
	if u := e.AssetURL("nope.css"); u != "/static/nope.css" {
		t.Errorf("unknown asset = %q", u)
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	e, c := newEngine(t)
	var buf bytes.Buffer
	p := &errorPage{Base: render.Base{Lang: c.Lang("en")}, TitleKey: "error.title", MessageKey: "error.internal",
		RequestID: `<script>alert(1)</script>`}
	if err := e.Execute(&buf, "error", p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert") {
		t.Error("request id was not escaped")
	}
}
