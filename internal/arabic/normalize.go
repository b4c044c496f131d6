// Package arabic normalises free text written by residents in Arabic (Modern
// Standard Arabic and Gulf dialect), English, or a mix of both, so that
// spelling variants of the same words compare equal.
//
// Residents type on many different keyboards and phones. The same word can
// arrive with or without hamza (أحمد / احمد), with ى or ي at the end (على /
// علي), with ة or ه (مدرسة / مدرسه), with tashkeel (مُسْتَشْفَى), with
// tatweel used for emphasis (مطعـــم), with Arabic-Indic or Persian digits
// (٠٥٥ / ۰۵۵), with invisible bidi and zero-width characters pasted from
// other apps, and with any amount of whitespace. Normalize folds all of these
// to one canonical form for searching, duplicate detection and keyword
// matching. It is lossy and meant for comparison only: store and display the
// original text.
//
// The same normaliser exists as the PostgreSQL function ar_norm in
// ar_norm.sql; the two must be kept in step.
package arabic

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns the canonical comparison form of s. In order, it:
//
//  1. replaces each run of invalid UTF-8 bytes with U+FFFD, so the result is
//     always valid UTF-8;
//  2. applies Unicode NFKC (this also turns Arabic presentation forms, ligatures
//     such as ﷲ, full-width Latin letters and digits, and exotic spaces into
//     their plain equivalents);
//  3. lower-cases (simple, locale-independent Unicode case mapping, as
//     strings.ToLower);
//  4. removes tashkeel (U+064B–U+065F and superscript alef U+0670), Quranic
//     annotation marks (U+06D6–U+06ED), tatweel (U+0640), and the invisible
//     zero-width and bidi controls U+200B–U+200F, U+202A–U+202E,
//     U+2060, U+2066–U+2069, U+061C (Arabic letter mark) and U+FEFF;
//  5. folds letter variants: أ إ آ ٱ → ا, ى → ي, ة → ه, ؤ → و, ئ → ي,
//     Persian ک → ك and ی → ي;
//  6. folds Arabic-Indic (٠–٩) and Persian (۰–۹) digits to ASCII 0–9, and
//     Arabic punctuation ، ؛ ؟ to , ; ?;
//  7. applies NFKC again, because removing a mark or an invisible character
//     can bring together two characters that compose (e + U+200B + U+0301);
//  8. collapses every run of Unicode white space (unicode.IsSpace) to a
//     single ASCII space and trims spaces at both ends.
//
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s) for every
// s. Its output is valid UTF-8, in NFKC, and contains none of the removed
// characters nor any of the folded variants. It never panics.
func Normalize(s string) string {
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = norm.NFKC.String(s)
	s = strings.Map(foldRune, s)
	s = norm.NFKC.String(s)
	return collapseSpace(s)
}

// foldRune lower-cases r and applies steps 4–6 of Normalize to it. It returns
// -1 for characters that are removed.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	switch {
	case isRemoved(r):
		return -1
	case '\u0660' <= r && r <= '\u0669': // Arabic-Indic digits ٠–٩
		return '0' + (r - '\u0660')
	case '\u06F0' <= r && r <= '\u06F9': // Extended Arabic-Indic (Persian) digits ۰–۹
		return '0' + (r - '\u06F0')
	}
	switch r {
	case 'أ', 'إ', 'آ', 'ٱ': // U+0623, U+0625, U+0622, U+0671
		return 'ا' // U+0627
	case 'ى', 'ی', 'ئ': // U+0649, U+06CC (Persian yeh), U+0626
		return 'ي' // U+064A
	case 'ة': // U+0629
		return 'ه' // U+0647
	case 'ؤ': // U+0624
		return 'و' // U+0648
	case 'ک': // U+06A9 (Persian keheh)
		return 'ك' // U+0643
	case '،': // U+060C
		return ','
	case '؛': // U+061B
		return ';'
	case '؟': // U+061F
		return '?'
	}
	return unicode.ToLower(r)
}

// isRemoved reports whether Normalize deletes r outright.
func isRemoved(r rune) bool {
	switch {
	case '\u064B' <= r && r <= '\u065F': // tashkeel: fathatan … wavy hamza below
		return true
	case r == '\u0670': // superscript (dagger) alef
		return true
	case '\u06D6' <= r && r <= '\u06ED': // Quranic annotation signs
		return true
	case r == '\u0640': // tatweel
		return true
	case r == '\u061C': // Arabic letter mark (bidi control)
		return true
	case '\u200B' <= r && r <= '\u200F': // ZWSP, ZWNJ, ZWJ, LRM, RLM
		return true
	case '\u202A' <= r && r <= '\u202E': // LRE, RLE, PDF, LRO, RLO
		return true
	case r == '\u2060': // word joiner
		return true
	case '\u2066' <= r && r <= '\u2069': // LRI, RLI, FSI, PDI
		return true
	case r == '\uFEFF': // BOM / zero-width no-break space
		return true
	}
	return false
}

// collapseSpace replaces every run of white space in s with one ASCII space
// and trims white space at both ends.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FoldDigits replaces Arabic-Indic digits (٠–٩, U+0660–U+0669) and Persian
// digits (۰–۹, U+06F0–U+06F9) with the ASCII digits 0–9 and leaves every other
// byte of s unchanged, including invalid UTF-8.
func FoldDigits(s string) string {
	// Both digit ranges are encoded with lead byte 0xD9 or 0xDB; skip the
	// copy when neither occurs.
	if strings.IndexByte(s, 0xD9) < 0 && strings.IndexByte(s, 0xDB) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case '\u0660' <= r && r <= '\u0669':
			b.WriteByte(byte('0' + r - '\u0660'))
		case '\u06F0' <= r && r <= '\u06F9':
			b.WriteByte(byte('0' + r - '\u06F0'))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Keyword returns the form used to match a whole message against a list of
// keywords (STOP, ايقاف, …): Normalize(s) with leading and trailing
// punctuation, symbols (including emoji, emoji skin-tone modifiers, variation
// selectors, keycap and tag characters) and spaces removed. Punctuation inside
// the text is kept. So "  STOP! ", "stop." and "Stop 🙏" all give "stop", and
// "إيقاف" and "ايقاف 🙏" both give "ايقاف".
//
// Keyword is idempotent and returns "" for a message made only of
// punctuation, symbols and spaces.
func Keyword(s string) string {
	return strings.TrimFunc(Normalize(s), isKeywordTrim)
}

// isKeywordTrim reports whether Keyword trims r from the ends of a message.
func isKeywordTrim(r rune) bool {
	switch {
	case unicode.IsPunct(r), unicode.IsSymbol(r), unicode.IsSpace(r):
		return true
	case unicode.Is(unicode.Variation_Selector, r): // U+FE0F emoji presentation, …
		return true
	case r == '\u20E3': // combining enclosing keycap
		return true
	case '\U000E0020' <= r && r <= '\U000E007F': // emoji tag sequences (subdivision flags)
		return true
	}
	return false
}
