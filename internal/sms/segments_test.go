package sms

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSegments(t *testing.T) {
	const rating = "شكراً لتواصلكم مع البلدية. كيف تقيّم خدمتنا من 1 إلى 5؟ أرسل رقماً فقط."
	ratingPlain := strings.NewReplacer("ً", "", "ّ", "").Replace(rating)
	a := func(n int) string { return strings.Repeat("a", n) }
	beh := func(n int) string { return strings.Repeat("ب", n) }

	tests := []struct {
		name     string
		body     string
		enc      Encoding
		units    int
		segments int
	}{
		{"empty is one billed segment", "", GSM7, 0, 1},
		{"ascii", "hello", GSM7, 5, 1},
		{"160 gsm fits one", a(160), GSM7, 160, 1},
		{"161 gsm needs two", a(161), GSM7, 161, 2},
		{"306 gsm is two", a(306), GSM7, 306, 2},
		{"307 gsm is three", a(307), GSM7, 307, 3},
		{"braces cost two each", "{}", GSM7, 4, 1},
		{"euro costs two", "€5", GSM7, 3, 1},
		{"all extension chars", "\f^{}\\[~]|€", GSM7, 20, 1},
		{"80 escapes fit one", strings.Repeat("{", 80), GSM7, 160, 1},
		{"81 escapes need two", strings.Repeat("{", 81), GSM7, 162, 2},
		{"escape pair not split", a(152) + "{" + a(152), GSM7, 306, 3},
		{"crlf", "a\r\nb", GSM7, 4, 1},
		{"greek capitals in gsm", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 10, 1},
		{"latin accents in gsm", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¡¿§¤£¥", GSM7, 29, 1},
		{"rating question with tashkeel", rating, UCS2, 71, 2},
		{"rating question without tashkeel", ratingPlain, UCS2, 68, 1},
		{"70 arabic fit one", beh(70), UCS2, 70, 1},
		{"71 arabic need two", beh(71), UCS2, 71, 2},
		{"134 arabic is two", beh(134), UCS2, 134, 2},
		{"135 arabic is three", beh(135), UCS2, 135, 3},
		{"curly quote forces ucs-2", a(160) + "’", UCS2, 161, 3},
		{"emoji is two units", "😀", UCS2, 2, 1},
		{"emoji in latin text", "Thanks 🙏", UCS2, 9, 1},
		{"surrogate pair not split", beh(66) + "😀" + beh(66), UCS2, 134, 3},
		{"mixed scripts", "Hello مرحبا", UCS2, 11, 1},
		{"lower-case c cedilla is not gsm", "ç", UCS2, 1, 1},
		{"backtick is not gsm", "`", UCS2, 1, 1},
		{"lower-case greek is not gsm", "α", UCS2, 1, 1},
		{"arabic-indic digit is not gsm", "٥", UCS2, 1, 1},
		{"invalid utf-8 is ucs-2", "a\xffb", UCS2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, units, segments := Segments(tt.body)
			if enc != tt.enc || units != tt.units || segments != tt.segments {
				t.Errorf("Segments(%q) = %s, %d, %d; want %s, %d, %d",
					tt.body, enc, units, segments, tt.enc, tt.units, tt.segments)
			}
		})
	}
}

// TestSegmentsAlphabet checks the GSM-7 tables: 127 basic characters (128
// codes less the escape) and 10 extension characters, all distinct, each
// costing what it should.
func TestSegmentsAlphabet(t *testing.T) {
	if n := utf8.RuneCountInString(gsm7Basic); n != 127 {
		t.Errorf("basic alphabet has %d characters, want 127", n)
	}
	if n := utf8.RuneCountInString(gsm7Extension); n != 10 {
		t.Errorf("extension table has %d characters, want 10", n)
	}
	if n := len(gsm7Cost); n != 137 {
		t.Errorf("GSM-7 has %d distinct characters, want 137", n)
	}
	for _, r := range gsm7Basic {
		if enc, units, _ := Segments(string(r)); enc != GSM7 || units != 1 {
			t.Errorf("Segments(%q) = %s, %d; want GSM-7, 1", r, enc, units)
		}
	}
	for _, r := range gsm7Extension {
		if enc, units, _ := Segments(string(r)); enc != GSM7 || units != 2 {
			t.Errorf("Segments(%q) = %s, %d; want GSM-7, 2", r, enc, units)
		}
	}
}
