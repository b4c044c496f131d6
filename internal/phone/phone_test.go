package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"national with trunk 0", "0551234567", "+966551234567"},
		{"e164", "+966551234567", "+966551234567"},
		{"idd 00", "00966551234567", "+966551234567"},
		{"country code without plus", "966551234567", "+966551234567"},
		{"without trunk 0", "551234567", "+966551234567"},
		{"spaces", "055 123 4567", "+966551234567"},
		{"brackets and dash", "(055) 123-4567", "+966551234567"},
		{"dashes", "055-123-4567", "+966551234567"},
		{"dots", "055.123.4567", "+966551234567"},
		{"arabic-indic digits", "٠٥٥١٢٣٤٥٦٧", "+966551234567"},
		{"arabic-indic with dashes", "٠٥٠-٢٣٤-٥٦٧٨", "+966502345678"},
		{"mixed scripts", "٠55۱۲۳4567", "+966551234567"},
		{"arabic-indic e164", "+٩٦٦٥٥١٢٣٤٥٦٧", "+966551234567"},
		{"persian digits", "۰۵۹۱۲۳۴۵۶۷", "+966591234567"},
		{"full-width digits", "０５５１２３４５６７", "+966551234567"},
		{"international with (0)", "+966 (0) 55 123 4567", "+966551234567"},
		{"international with spaces", "+966 55 123 4567", "+966551234567"},
		{"009665 with spaces", "00966 55 123 4567", "+966551234567"},
		{"bidi marks around", "\u200E+966 55 123 4567\u200F", "+966551234567"},
		{"surrounding space", "  0551234567\n", "+966551234567"},
		{"no-break spaces", "055\u00A0123\u00A04567", "+966551234567"},
		{"tel uri", "tel:+966551234567", "+966551234567"},
		{"TEL uri", "TEL:0551234567", "+966551234567"},
		{"qassim landline", "0163234567", "+966163234567"},
		{"landline international", "+966 16 323 4567", "+966163234567"},
		{"egypt mobile", "+201001234567", "+201001234567"},
		{"egypt via 00", "00201001234567", "+201001234567"},
		{"usa", "+14155550100", "+14155550100"},
		{"usa formatted", "+1 (415) 555-0100", "+14155550100"},
		{"uk mobile", "+44 7911 123456", "+447911123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"blank", "   "},
		{"letters", "abc"},
		{"unassigned saudi", "+9661123456"},
		{"too short", "05512345"},
		{"too long", "05512345678901234567"},
		{"digits in a sentence", "call 0551234567"},
		{"whatsapp prefix is the caller's", "whatsapp:+966551234567"},
		{"extension", "0551234567 ext 12"},
		{"plus in the middle", "055+1234567"},
		{"two plus", "++966551234567"},
		{"foreign without plus", "201001234567"},
		{"unknown country code", "+999123456789"},
		{"only separators", "() - ."},
		{"only plus", "+"},
		{"emoji", "📞0551234567"},
		{"arabic letters", "جوالي 0551234567"},
		{"long garbage", strings.Repeat("0", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if !errors.Is(err, ErrInvalid) || got != "" {
				t.Errorf("Normalize(%q) = %q, %v; want \"\", ErrInvalid", tt.in, got, err)
			}
		})
	}
}

// TestNormalizeErrorHidesDigits checks that errors are safe to log.
func TestNormalizeErrorHidesDigits(t *testing.T) {
	for _, in := range []string{"+9661123456", "05512345", "0551234567 ext 12", "٠٥٥١٢٣٤٥"} {
		_, err := Normalize(in)
		if err == nil {
			t.Fatalf("Normalize(%q): want error", in)
		}
		if strings.Contains(err.Error(), "1234") {
			t.Errorf("Normalize(%q) error %q repeats the input's digits", in, err)
		}
	}
}

func TestIsMobile(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"+966551234567", true},
		{"+966501112233", true},
		{"0541230987", true},
		{"+966163234567", false},  // Qassim fixed line
		{"+9668001234567", false}, // toll free
		{"+201001234567", true},
		{"+447911123456", true},
		{"+14155550100", true}, // FIXED_LINE_OR_MOBILE
		{"+9661123456", false}, // invalid
		{"", false},
		{"abc", false},
	}
	for _, tt := range tests {
		if got := IsMobile(tt.in); got != tt.want {
			t.Errorf("IsMobile(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"+966551234567", "+966 55 123 4567"},
		{"0551234567", "+966 55 123 4567"},
		{"+966163234567", "+966 16 323 4567"},
		{"+201001234567", "+20 10 01234567"},
		{"+14155550100", "+1 415-555-0100"},
		{"+9661123456", "+9661123456"}, // invalid: unchanged
		{"", ""},
	}
	for _, tt := range tests {
		if got := Display(tt.in); got != tt.want {
			t.Errorf("Display(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"+966551234567", "+966*******67"},
		{"0551234567", "+966*******67"},
		{"+966163234567", "+966*******67"},
		{"+201001234567", "+20********67"},
		{"+14155550100", "+1********00"},
		{"+447911123456", "+44********56"},
		{"05512345", "******45"},      // invalid: digits only
		{"+9661123456", "********56"}, // invalid: no country code kept
		{"٠٥٥١٢٣٤٥", "******45"},      // invalid, Arabic-Indic
		{"12", "**"},
		{"abc", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConcurrentUse exercises the shared parser metadata under -race.
func TestConcurrentUse(t *testing.T) {
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := 0; j < 50; j++ {
				if got, err := Normalize("055 123 4567"); err != nil || got != "+966551234567" {
					t.Errorf("Normalize = %q, %v", got, err)
					return
				}
				_ = Display("+201001234567")
				_ = IsMobile("+14155550100")
			}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}

// The memo behind Normalize gives the same answers as parsing, keeps no
// invalid input, and never holds more than its bound.
func TestNormalizeMemo(t *testing.T) {
	c := memo{max: 3}
	for i, in := range []string{"0551234567", "0551234568", "0551234569", "0551234570"} {
		c.put(in, "+96655123456"+in[len(in)-1:])
		if len(c.m) > c.max || len(c.m) != i%3+1 {
			t.Fatalf("after %d puts the memo holds %d (bound %d)", i+1, len(c.m), c.max)
		}
	}
	if v, ok := c.get("0551234570"); !ok || v != "+966551234560" {
		t.Errorf("latest entry: %q %v", v, ok)
	}
	for _, in := range []string{"٠٥٥١٢٣٤٥٦٧", "not a phone", "+9661123456"} {
		first, err1 := Normalize(in)
		again, err2 := Normalize(in)
		if first != again || (err1 == nil) != (err2 == nil) {
			t.Errorf("Normalize(%q): %q, %v then %q, %v", in, first, err1, again, err2)
		}
		if _, kept := recent.get(in); kept != (err1 == nil) {
			t.Errorf("Normalize(%q) (error %v): remembered = %v", in, err1, kept)
		}
	}
}
