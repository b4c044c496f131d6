package arabic

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize checks, for arbitrary input, that Normalize returns valid
// UTF-8 in NFKC without tatweel, tashkeel, invisible controls or unfolded
// variants, that it is idempotent, and that Keyword and FoldDigits keep
// their contracts.
func FuzzNormalize(f *testing.F) {
	seeds := []string{
		"",
		"أحمد إبراهيم آمال",
		"رقم ٠٥٥١٢٣٤٥٦٧ و ۱۲۳",
		"مُسْتَشْفَى ـــمدرســـة",
		"السلام عليكم، the  STREET light رقم ٣ خربانـــه!! 😡",
		"\u200Fمرحبا\u200E \u202Babc\u202C\uFEFF",
		"e\u200B\u0301 \u1100\u200B\u1161",
		"ا\u0654 و\u0654 ي\u0654",
		"\uFE7C\uFEFB\uFDF2\uFE70",
		"👨\u200D👩\u200D👧 ❤️ 1️⃣ 🇸🇦 👍🏽",
		"a\xffb\xc0\xd9",
		"\xd9\xa0\xdb",
		"İ\u0301 ΣΟΦΙΑ ẞ K",
		"x\u0654\u0301 x\u06DD\u0301",
		"\t\n\v\f\r\u0085\u00A0\u1680\u2028\u2029\u3000",
		"ＡＢＣ１２３",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Normalize(in)
		checkClean(t, in, got)
		if again := Normalize(got); again != got {
			t.Fatalf("Normalize(%q) = %q, Normalize of that = %q", in, got, again)
		}

		kw := Keyword(in)
		if !utf8.ValidString(kw) {
			t.Fatalf("Keyword(%q) = %q: invalid UTF-8", in, kw)
		}
		if again := Keyword(kw); again != kw {
			t.Fatalf("Keyword(%q) = %q, Keyword of that = %q", in, kw, again)
		}
		if !strings.Contains(got, kw) {
			t.Fatalf("Keyword(%q) = %q is not part of Normalize = %q", in, kw, got)
		}

		fd := FoldDigits(in)
		if len(fd) > len(in) {
			t.Fatalf("FoldDigits(%q) = %q is longer than its input", in, fd)
		}
		if utf8.ValidString(in) != utf8.ValidString(fd) {
			t.Fatalf("FoldDigits(%q) = %q changed UTF-8 validity", in, fd)
		}
		if FoldDigits(fd) != fd {
			t.Fatalf("FoldDigits(%q) = %q is not idempotent", in, fd)
		}
	})
}
