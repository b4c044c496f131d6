package server

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"tawasul/internal/i18n"
	"tawasul/internal/tawasul"
)

func TestParseReference(t *testing.T) {
	for in, want := range map[string]string{
		"QS-26-0173":     "QS-26-0173",
		" qs-26-0173\n":  "QS-26-0173",
		"qs ٢٦ ٠١٧٣":     "QS-26-0173",
		"QS–26—0173":     "QS-26-0173",
		"QS-26-12345":    "QS-26-12345",
		"ABCD-۲۶-۰۰۰۱":   "ABCD-26-0001",
		"QS-26-173":      "QS-26-0173", // leading zeros left out
		"qs 26 1":        "QS-26-0001",
		"QS260173":       "QS-26-0173",
		"QS_26_0173":     "QS-26-0173",
		"qs/26/0173":     "QS-26-0173",
		"Ｑｓ－２６－０１７３":     "QS-26-0173", // full width
		"QS-26-00012345": "QS-26-12345",
		"QS-2026-0173":   "",
		"QS-26-":         "",
		"QS-6-0173":      "",
		"12-0173":        "",
		// Not a reference, or not this one.
		"QS-26-0173²":      "", // a footnote mark is not a digit
		"QS-26-0173①":      "",
		"QS-26-⑰":          "",
		"QS-2617":          "", // the year left out
		"QS 261":           "",
		"QS2617":           "",
		"Ⅻ 26 1":           "",
		"QS-26 0173":       "QS-26-0173",
		"انقطاع المياه":    "",
		"QS-26-0173 شكراً": "",
		// Copied from Arabic text or a sentence.
		"\u200fQS-26-0173\u200f": "QS-26-0173",
		"\u2067QS-26-0173\u2069": "QS-26-0173",
		"«QS-26-0173».":          "QS-26-0173",
		"QS−26−0173":             "QS-26-0173",
		"QS-26-0173-":            "QS-26-0173",
		"QS-26-\u200f0173":       "QS-26-0173",
		"QS-26-0173, QS-26-0174": "",
	} {
		got, ok := parseReference(in)
		if ok != (want != "") || ok && got != want {
			t.Errorf("parseReference(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// referenceRE is a submission reference as stored: prefix, year, number
// (QS-26-0173; reference_next in migration 00005).
var referenceRE = regexp.MustCompile(`^[A-Z]{1,4}-[0-9]{2}-[0-9]{4,}$`)

// FuzzParseReference: whatever staff type, a reference comes out in its
// stored shape, and reading it again changes nothing.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"QS-26-0173", "qs ٢٦ ٠١٧٣", "QS–26—0173", "", "-", "\xff", "ǅ-26-0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := parseReference(s)
		if !ok {
			return
		}
		if !referenceRE.MatchString(ref) || !utf8.ValidString(ref) {
			t.Fatalf("parseReference(%q) = %q, not a reference", s, ref)
		}
		if again, ok := parseReference(ref); !ok || again != ref {
			t.Fatalf("parseReference(%q) = %q, then %q", s, ref, again)
		}
	})
}

// TestTwilioErrorTextsInCatalog: every error code staff are told the
// meaning of has it in both languages.
func TestTwilioErrorTextsInCatalog(t *testing.T) {
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for code := range twilioErrorTexts {
		for _, lang := range []string{i18n.Arabic, i18n.English} {
			if s := cat.Lang(lang).T("twilio_errors.e" + strconv.Itoa(code)); strings.HasPrefix(s, "[") {
				t.Errorf("%s: no text for Twilio error %d", lang, code)
			}
		}
	}
}

// TestLimitParam: a page size is a whole number ≥ 1; one too large for an
// int is cut to the largest page, as any large one is, not refused.
func TestLimitParam(t *testing.T) {
	for v, want := range map[string]int{"": 0, "5": 5, "+7": 7, "100000": 100000, "99999999999999999999": tawasul.MaxPageSize} {
		if got, err := limitParam(url.Values{"limit": {v}}); err != nil || got != want {
			t.Errorf("limit=%s: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"0", "-1", "-99999999999999999999", "ten", "1.5", " 5"} {
		if got, err := limitParam(url.Values{"limit": {v}}); err == nil {
			t.Errorf("limit=%q: %d, want an error", v, got)
		}
	}
}
