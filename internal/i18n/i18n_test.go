package i18n

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

var pluralForms = map[string][]string{
	Arabic:  {"zero", "one", "two", "few", "many", "other"},
	English: {"one", "other"},
}

// flatten returns key → plural forms present (nil for a plain string).
func flatten(t *testing.T, code string) map[string][]string {
	t.Helper()
	b, err := locales.ReadFile("locales/" + code + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s.toml: %v", code, err)
	}
	out := map[string][]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := strings.TrimPrefix(prefix+"."+k, ".")
			switch v := v.(type) {
			case string:
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s: %s is empty", code, key)
				}
				out[key] = nil
			case map[string]any:
				if _, isPlural := v["other"]; isPlural {
					out[key] = slices.Sorted(maps.Keys(v))
					continue
				}
				walk(key, v)
			}
		}
	}
	walk("", raw)
	return out
}

func TestCatalogParity(t *testing.T) {
	ar, en := flatten(t, Arabic), flatten(t, English)
	for k := range ar {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in ar.toml but missing from en.toml", k)
		}
	}
	for k := range en {
		if _, ok := ar[k]; !ok {
			t.Errorf("key %q is in en.toml but missing from ar.toml", k)
		}
	}
}

func TestPluralForms(t *testing.T) {
	for _, code := range Codes {
		for key, forms := range flatten(t, code) {
			if forms == nil {
				continue
			}
			want := slices.Sorted(slices.Values(pluralForms[code]))
			if !slices.Equal(forms, want) {
				t.Errorf("%s: plural %q has forms %v, want %v", code, key, forms, want)
			}
		}
	}
}

func TestPluralRendering(t *testing.T) {
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ar, en := c.Lang(Arabic), c.Lang(English)
	tests := []struct {
		l    *Lang
		n    int
		want string
	}{
		{ar, 0, "أقل من دقيقة"}, {ar, 1, "دقيقة واحدة"}, {ar, 2, "دقيقتين"},
		{ar, 3, "3 دقائق"}, {ar, 11, "11 دقيقة"}, {ar, 100, "100 دقيقة"},
		{en, 1, "1 minute"}, {en, 15, "15 minutes"},
	}
	for _, tt := range tests {
		if got := tt.l.Plural("count.minutes", tt.n); got != tt.want {
			t.Errorf("%s Plural(%d) = %q, want %q", tt.l.Code, tt.n, got, tt.want)
		}
	}
	if got := ar.T("home.welcome", "Name", "منى"); got != "مرحباً، منى" {
		t.Errorf("T with data = %q", got)
	}
	if got := en.T("no.such.key"); got != "[no.such.key]" {
		t.Errorf("missing key = %q, want it marked", got)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct{ query, cookie, accept, want string }{
		{"", "", "", "ar"},
		{"", "", "en-US,en;q=0.9", "en"},
		{"", "", "fr-FR", "ar"},
		{"", "en", "ar", "en"},
		{"ar", "en", "en", "ar"},
		{"xx", "", "en", "en"},
		{"", "", "ar-SA,en;q=0.5", "ar"},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.query, tt.cookie, tt.accept); got != tt.want {
			t.Errorf("Negotiate(%q,%q,%q) = %q, want %q", tt.query, tt.cookie, tt.accept, got, tt.want)
		}
	}
}

func TestHijri(t *testing.T) {
	tests := []struct {
		greg time.Time
		want HijriDate
	}{
		// The policy page's "last updated 1443/05/23" is 27 December 2021.
		{time.Date(2021, 12, 27, 12, 0, 0, 0, Riyadh), HijriDate{1443, 5, 23}},
		{time.Date(2026, 11, 27, 12, 0, 0, 0, Riyadh), HijriDate{1448, 6, 17}},
		{time.Date(2024, 3, 11, 12, 0, 0, 0, Riyadh), HijriDate{1445, 9, 1}}, // 1 Ramadan 1445
		// 22:30 UTC on the 26th is already the 27th in Riyadh.
		{time.Date(2021, 12, 26, 22, 30, 0, 0, time.UTC), HijriDate{1443, 5, 23}},
	}
	for _, tt := range tests {
		got, ok := ToHijri(tt.greg)
		if !ok || got != tt.want {
			t.Errorf("ToHijri(%v) = %v %v, want %v", tt.greg, got, ok, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	d := time.Date(2021, 12, 27, 9, 5, 0, 0, time.UTC)
	if got, want := c.Lang(Arabic).Date(d), "23 جمادى الأولى 1443 هـ — 27 ديسمبر 2021"; got != want {
		t.Errorf("ar Date = %q, want %q", got, want)
	}
	if got, want := c.Lang(English).Date(d), "23 Jumada al-Ula 1443 AH — 27 December 2021"; got != want {
		t.Errorf("en Date = %q, want %q", got, want)
	}
	if got := c.Lang(English).DateTime(d); !strings.HasSuffix(got, ", 12:05") {
		t.Errorf("en DateTime = %q, want Riyadh time 12:05", got)
	}
}

// TestErrorKeysExist finds every catalog key given to tawasul.Errorf in the
// module's Go code and checks both languages have it, so no user ever sees
// "[error.something]" instead of a message.
func TestErrorKeysExist(t *testing.T) {
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`Errorf\((?:tawasul\.)?E[A-Z]+,\s*"([a-z0-9_.]+)"`)
	found := 0
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			found++
			for _, lang := range []string{Arabic, English} {
				if got := c.Lang(lang).T(m[1]); strings.HasPrefix(got, "[") {
					t.Errorf("%s: key %q has no %s message", path, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("found only %d error keys: is the pattern still right?", found)
	}
}
