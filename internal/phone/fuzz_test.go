package phone

import (
	"errors"
	"strings"
	"testing"
)

// FuzzNormalize checks that Normalize never panics, that every result is
// "+" followed by digits and is a fixed point of Normalize, that every
// failure wraps ErrInvalid, and that Mask never shows more than the country
// code and two digits.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"0551234567", "+966551234567", "00966551234567", "966551234567",
		"551234567", "055 123 4567", "(055) 123-4567", "٠٥٥١٢٣٤٥٦٧",
		"٠55۱۲۳4567", "+201001234567", "+14155550100", "0163234567",
		"tel:+966551234567", "", "abc", "+9661123456", "05512345",
		"+966 (0) 55 123 4567", "\u200E+966 55 123 4567", "０５５１２３４５６７",
		"+", "++", "tel:", "\xff\xfe", "0551234567 ext. 12", "+800 1234 5678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q) error %v does not wrap ErrInvalid", in, err)
			}
			if got != "" {
				t.Fatalf("Normalize(%q) = %q with error %v", in, got, err)
			}
		} else {
			if len(got) < 2 || got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" {
				t.Fatalf("Normalize(%q) = %q, not E.164", in, got)
			}
			if again, err := Normalize(got); err != nil || again != got {
				t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", in, got, got, again, err)
			}
			if d := Display(got); d == "" {
				t.Fatalf("Display(%q) is empty", got)
			}
		}
		_ = IsMobile(in)

		masked := Mask(in)
		shown := 0
		for _, r := range masked {
			if '0' <= r && r <= '9' {
				shown++
			}
		}
		// A country code has at most 3 digits.
		if limit := 2 + 3; shown > limit {
			t.Fatalf("Mask(%q) = %q shows %d digits", in, masked, shown)
		}
		if err == nil && !strings.HasSuffix(masked, got[len(got)-2:]) {
			t.Fatalf("Mask(%q) = %q does not end like %q", in, masked, got)
		}
	})
}
