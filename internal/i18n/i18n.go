// Package i18n holds Tawasul's Arabic and English catalogs and binds them to
// a request or a resident: translation with plurals (Arabic's six forms),
// text direction, language negotiation, and dates in the Hijri (Umm al-Qura)
// and Gregorian calendars.
//
// Arabic is the default language. Catalogs live in locales/{ar,en}.toml with
// dotted keys by area: "signin.title", "error.not_found".
package i18n

import (
	"embed"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages Tawasul speaks, default first.
const (
	Arabic  = "ar"
	English = "en"
)

// Codes lists the supported language codes, default first.
var Codes = []string{Arabic, English}

//go:embed locales/*.toml
var locales embed.FS

// Catalog holds both languages' messages. It is safe for concurrent use.
type Catalog struct {
	bundle *goi18n.Bundle
	langs  map[string]*Lang
}

// NewCatalog loads the embedded catalogs.
func NewCatalog() (*Catalog, error) {
	b := goi18n.NewBundle(language.Arabic)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, code := range Codes {
		if _, err := b.LoadMessageFileFS(locales, "locales/"+code+".toml"); err != nil {
			return nil, fmt.Errorf("i18n: load %s: %w", code, err)
		}
	}
	c := &Catalog{bundle: b, langs: map[string]*Lang{}}
	for _, code := range Codes {
		dir := "ltr"
		if code == Arabic {
			dir = "rtl"
		}
		c.langs[code] = &Lang{Code: code, Dir: dir, loc: goi18n.NewLocalizer(b, code)}
	}
	return c, nil
}

// Lang returns the language with code, falling back to Arabic.
func (c *Catalog) Lang(code string) *Lang {
	if l, ok := c.langs[code]; ok {
		return l
	}
	return c.langs[Arabic]
}

// Lang is one language of the catalog. It is immutable and safe to share.
type Lang struct {
	Code string // "ar" or "en"
	Dir  string // "rtl" or "ltr"
	loc  *goi18n.Localizer
}

// T translates key. args are name/value pairs for the message's template:
// T("home.welcome", "Name", u.Name). A missing key renders as "[key]" and is
// logged; TestTemplatesUseKnownKeys keeps templates free of them.
func (l *Lang) T(key string, args ...any) string {
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: key, TemplateData: pairs(args)})
	if err != nil {
		slog.Warn("i18n: missing message", "lang", l.Code, "key", key)
		return "[" + key + "]"
	}
	return s
}

// Plural translates key for count n with the language's plural rules
// ({{.PluralCount}} in the message is n).
func (l *Lang) Plural(key string, n int, args ...any) string {
	data := pairs(args)
	if data == nil {
		data = map[string]any{}
	}
	data["PluralCount"] = n
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: key, PluralCount: n, TemplateData: data})
	if err != nil {
		slog.Warn("i18n: missing plural message", "lang", l.Code, "key", key)
		return "[" + key + "]" + strconv.Itoa(n)
	}
	return s
}

// Other returns the other language: the one a language switch links to.
func (l *Lang) Other() string {
	if l.Code == Arabic {
		return English
	}
	return Arabic
}

func pairs(args []any) map[string]any {
	if len(args) == 0 {
		return nil
	}
	m := make(map[string]any, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		m[fmt.Sprint(args[i])] = args[i+1]
	}
	return m
}

var matcher = language.NewMatcher([]language.Tag{language.Arabic, language.English})

// Negotiate picks the language for a web request: an explicit choice (from
// ?lang=, "ar" or "en") wins, then the remembered cookie value, then the
// Accept-Language header, then Arabic.
func Negotiate(query, cookie, acceptLanguage string) string {
	for _, v := range []string{query, cookie} {
		if v == Arabic || v == English {
			return v
		}
	}
	if acceptLanguage == "" {
		return Arabic
	}
	tag, _ := language.MatchStrings(matcher, acceptLanguage)
	if base, _ := tag.Base(); base.String() == English {
		return English
	}
	return Arabic
}
