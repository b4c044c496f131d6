package twiliofake

import (
	"strings"
	"testing"
)

func TestCountSegments(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{"empty", "", 1},
		{"short gsm", "Hello", 1},
		{"160 gsm", strings.Repeat("a", 160), 1},
		{"161 gsm", strings.Repeat("a", 161), 2},
		{"306 gsm", strings.Repeat("a", 306), 2},
		{"307 gsm", strings.Repeat("a", 307), 3},
		{"extension chars cost two", strings.Repeat("€", 80), 1},
		{"extension chars overflow", strings.Repeat("€", 81), 2},
		// 152 plain + '{' would need 154 septets in the first part: the
		// escape pair moves whole to part two.
		{"escape pair not split", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10), 2},
		{"short arabic", "مرحبا", 1},
		{"70 ucs2", strings.Repeat("ب", 70), 1},
		{"71 ucs2", strings.Repeat("ب", 71), 2},
		{"134 ucs2", strings.Repeat("ب", 134), 2},
		{"135 ucs2", strings.Repeat("ب", 135), 3},
		// twilio.md §7: 71 UTF-16 units with the shadda and tanween.
		{"arabic survey with diacritics", "شكراً لتواصلكم مع البلدية. كيف تقيّم خدمتنا من 1 إلى 5؟ أرسل رقماً فقط.", 2},
		{"arabic survey without diacritics", "شكرا لتواصلكم مع البلدية. كيف تقيم خدمتنا من 1 إلى 5؟ أرسل رقما فقط.", 1},
		// One curly apostrophe switches 160 GSM characters to UCS-2.
		{"gsm plus curly apostrophe", strings.Repeat("a", 160) + "’", 3},
		{"emoji are two units", strings.Repeat("😀", 35), 1},
		{"emoji overflow", strings.Repeat("😀", 36), 2},
	}
	for _, tt := range tests {
		if got := countSegments(tt.body); got != tt.want {
			t.Errorf("%s: countSegments = %d, want %d", tt.name, got, tt.want)
		}
	}
}
