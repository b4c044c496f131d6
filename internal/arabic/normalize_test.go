package arabic

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"only spaces", " \t\n\u00A0\u3000 ", ""},
		{"hamza forms", "أحمد إبراهيم آمال", "احمد ابراهيم امال"},
		{"alef wasla", "ٱلله", "الله"},
		{"arabic-indic and persian digits", "رقم ٠٥٥١٢٣٤٥٦٧ و ۱۲۳", "رقم 0551234567 و 123"},
		{"tashkeel and alef maqsura", "مُسْتَشْفَى", "مستشفي"},
		{"tatweel and teh marbuta", "ـــمدرســـة", "مدرسه"},
		{"waw and yeh hamza", "مسؤول رئيس", "مسوول رييس"},
		{"persian keheh and yeh", "کیف", "كيف"},
		{"dagger alef", "ذَٰلِكَ هٰذا", "ذلك هذا"},
		{"quranic marks", "الرَّحِيمِ ۝ قُلْ ۚ نَعَمْ ۖ", "الرحيم قل نعم"},
		{"shadda and tanween", "شكراً تقيّم", "شكرا تقيم"},
		{"combining hamza above composes then folds", "ا\u0654حمد", "احمد"},
		{"combining madda composes then folds", "ا\u0653مال", "امال"},
		{"arabic punctuation", "وين؟ نعم، لا؛", "وين? نعم, لا;"},
		{"lower-case latin", "Balady APP", "balady app"},
		{"lower-case greek", "ΣΟΦΙΑ", "σοφια"},
		{"whitespace runs", "  حفره \t\n كبيره\u00A0\u2003جدا  ", "حفره كبيره جدا"},
		{"line and paragraph separators", "a\u2028b\u2029c\u0085d\u1680e", "a b c d e"},
		{"bidi and zero width", "\u200Fمرحبا\u200E \u202Babc\u202C\uFEFF \u2067x\u2069\u061C", "مرحبا abc x"},
		{"zwj inside emoji sequence removed", "👨\u200D👩", "👨👩"},
		{"emoji kept", "شكرا 🙏😡", "شكرا 🙏😡"},
		{"lam-alef ligature presentation form", "\uFEFB\uFEFC", "لالا"},
		{"allah ligature", "\uFDF2", "الله"},
		{"presentation form letters", "\uFE8D\uFEDF\uFEE4\uFEAA\uFEAE\uFEB3\uFE94", "المدرسه"},
		{"isolated shadda form leaves nothing", "\uFE7C", ""},
		{"full-width latin and digits", "ＡＢＣ１２３", "abc123"},
		{"removal exposes composition", "e\u200B\u0301", "é"},
		{"removal exposes hangul composition", "\u1100\u200B\u1161", "가"},
		{"invalid utf-8 replaced", "a\xffb\xc0", "a\uFFFDb\uFFFD"},
		{"mixed message", "السلام عليكم، the  STREET light رقم ٣ خربانـــه!!", "السلام عليكم, the street light رقم 3 خربانه!!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("Normalize not idempotent on %q: %q then %q", tt.in, got, again)
			}
		})
	}
}

// TestNormalizeEquivalent checks spellings that residents use interchangeably.
func TestNormalizeEquivalent(t *testing.T) {
	tests := []struct {
		a, b string
	}{
		{"على الأرض", "علي الارض"},
		{"مدرسة البنات", "مدرســه البنات"},
		{"إنارة", "انارة"},
		{"٠٥٠-٢٣٤-٥٦٧٨", "050-234-5678"},
		{"مُسْتَشْفَى", "مستشفى"},
		{"STOP", "stop"},
		{"الريّان", "الريان"},
	}
	for _, tt := range tests {
		if ga, gb := Normalize(tt.a), Normalize(tt.b); ga != gb {
			t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q; want equal", tt.a, ga, tt.b, gb)
		}
	}
}

// dupCopies are rows of a dup_group in shared/testdata/messages.jsonl that
// differ only in letter variants, tashkeel and tatweel, so they must
// normalise to the same string. The other copies in the file (v006/v007,
// v019/v020, v134/v135, v153/v154) also differ by a space before a comma or
// question mark, or by a trailing full stop, which Normalize keeps on purpose;
// the rest of each group are rewordings.
var dupCopies = []struct {
	idA, a string
	idB, b string
}{
	{
		"v053", "الحاوية عند بيتنا في حي الخليج ما فضوها من أسبوع والزبالة على الأرض",
		"v054", "الحاويه عند بيتنا في حي الخليج ما فضوها من اسبوع والزباله علي الارض",
	},
	{
		"v102", "مطعم في حي الريان المطبخ وسخ والعمال بدون قفازات، شفتهم بعيني",
		"v103", "مطعـــم في حي الريّان المطبخ وسخ والعمّال بدون قفازات، شفتهم بعيني",
	},
}

func TestNormalizeDuplicateCopies(t *testing.T) {
	for _, tt := range dupCopies {
		ga, gb := Normalize(tt.a), Normalize(tt.b)
		if ga != gb {
			t.Errorf("%s and %s normalise differently:\n%s: %q\n%s: %q", tt.idA, tt.idB, tt.idA, ga, tt.idB, gb)
		}
	}
}

// message is one row of shared/testdata/messages.jsonl.
type message struct {
	ID       string  `json:"id"`
	Text     string  `json:"text"`
	DupGroup *string `json:"dup_group"`
}

// loadMessages reads shared/testdata/messages.jsonl, looking for a shared/
// folder in the working directory's ancestors and beside them (the repository
// and shared/ are siblings). It skips the test when the file is absent.
func loadMessages(t *testing.T) []message {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		path := filepath.Join(dir, "shared", "testdata", "messages.jsonl")
		if f, err := os.Open(path); err == nil {
			defer f.Close()
			var msgs []message
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
			for sc.Scan() {
				if len(sc.Bytes()) == 0 {
					continue
				}
				var m message
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				msgs = append(msgs, m)
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return msgs
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/testdata/messages.jsonl not found")
		}
		dir = parent
	}
}

// TestNormalizeSampleFile checks that the literal copies in dupCopies are the
// ones in the sample file and share a dup_group there, and that Normalize is
// idempotent and clean on every sample message.
func TestNormalizeSampleFile(t *testing.T) {
	msgs := loadMessages(t)
	byID := make(map[string]message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
		got := Normalize(m.Text)
		if again := Normalize(got); again != got {
			t.Errorf("%s: not idempotent: %q then %q", m.ID, got, again)
		}
		checkClean(t, m.Text, got)
	}
	for _, tt := range dupCopies {
		ma, okA := byID[tt.idA]
		mb, okB := byID[tt.idB]
		if !okA || !okB {
			t.Errorf("sample file lacks %s or %s", tt.idA, tt.idB)
			continue
		}
		if ma.Text != tt.a || mb.Text != tt.b {
			t.Errorf("sample texts of %s/%s changed; update dupCopies", tt.idA, tt.idB)
		}
		if ma.DupGroup == nil || mb.DupGroup == nil || *ma.DupGroup != *mb.DupGroup {
			t.Errorf("%s and %s are not in one dup_group", tt.idA, tt.idB)
		}
		if ga, gb := Normalize(ma.Text), Normalize(mb.Text); ga != gb {
			t.Errorf("%s and %s normalise differently: %q vs %q", tt.idA, tt.idB, ga, gb)
		}
	}
}

// checkClean fails t if out, the result of Normalize(in), breaks one of the
// output guarantees of Normalize.
func checkClean(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("Normalize(%q) = %q: invalid UTF-8", in, out)
	}
	if !norm.NFKC.IsNormalString(out) {
		t.Errorf("Normalize(%q) = %q: not NFKC", in, out)
	}
	if len(out) > 0 && (out[0] == ' ' || out[len(out)-1] == ' ') {
		t.Errorf("Normalize(%q) = %q: untrimmed", in, out)
	}
	prevSpace := false
	for _, r := range out {
		if isRemoved(r) {
			t.Errorf("Normalize(%q) = %q: contains removed %U", in, out, r)
		}
		switch r {
		case 'أ', 'إ', 'آ', 'ٱ', 'ى', 'ة', 'ؤ', 'ئ', 'ک', 'ی', '،', '؛', '؟':
			t.Errorf("Normalize(%q) = %q: contains unfolded %U", in, out, r)
		}
		if ('\u0660' <= r && r <= '\u0669') || ('\u06F0' <= r && r <= '\u06F9') {
			t.Errorf("Normalize(%q) = %q: contains unfolded digit %U", in, out, r)
		}
		if r != ' ' && unicode.IsSpace(r) {
			t.Errorf("Normalize(%q) = %q: contains white space %U", in, out, r)
		}
		if r == ' ' && prevSpace {
			t.Errorf("Normalize(%q) = %q: contains a run of spaces", in, out)
		}
		prevSpace = r == ' '
	}
}

// TestNormalizeEveryRune checks idempotence and the output guarantees for
// every Unicode code point on its own and between two letters.
func TestNormalizeEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive; skipped with -short")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if 0xD800 <= r && r <= 0xDFFF {
			continue
		}
		for _, in := range []string{string(r), "a" + string(r) + "\u0301"} {
			got := Normalize(in)
			if again := Normalize(got); again != got {
				t.Fatalf("Normalize(%q) = %q, Normalize of that = %q", in, got, again)
			}
			checkClean(t, in, got)
			if t.Failed() {
				t.FailNow()
			}
		}
	}
}

func TestFoldDigits(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"arabic-indic", "٠١٢٣٤٥٦٧٨٩", "0123456789"},
		{"persian", "۰۱۲۳۴۵۶۷۸۹", "0123456789"},
		{"mixed", "٠5۵ ١٢3", "055 123"},
		{"letters untouched", "أحمد ة ى ـ", "أحمد ة ى ـ"},
		{"tashkeel untouched", "رقمُ ٣", "رقمُ 3"},
		{"full-width untouched", "１２３", "１２３"},
		{"arabic punctuation untouched", "٣،٤؟", "3،4؟"},
		{"invalid utf-8 kept", "\xff٣\xd9", "\xff3\xd9"},
		{"ascii", "+966 55 123 4567", "+966 55 123 4567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FoldDigits(tt.in); got != tt.want {
				t.Errorf("FoldDigits(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestKeyword(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"STOP", "stop"},
		{"  STOP! ", "stop"},
		{"stop.", "stop"},
		{"Stop 🙏", "stop"},
		{"❤️ stop ❤️", "stop"},
		{"🇸🇦 stop", "stop"},
		{"«stop»", "stop"},
		{"ايقاف", "ايقاف"},
		{"إيقاف", "ايقاف"},
		{"ايقاف 🙏", "ايقاف"},
		{"ايقاف!!", "ايقاف"},
		{"إيقــاف؟", "ايقاف"},
		{"\u200Fإيقاف\u200F", "ايقاف"},
		{"stop, please", "stop, please"},
		{"1️⃣", "1"},
		{"🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F stop", "stop"},
		{"👍🏽", ""},
		{"!!! 🙏 ...", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Keyword(tt.in)
			if got != tt.want {
				t.Errorf("Keyword(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Keyword(got); again != got {
				t.Errorf("Keyword not idempotent on %q: %q then %q", tt.in, got, again)
			}
		})
	}
}

func TestKeywordEquivalent(t *testing.T) {
	groups := [][]string{
		{"STOP", "  STOP! ", "stop.", "Stop", "sToP 🙏"},
		{"ايقاف", "إيقاف", "ايقاف 🙏", "  إيقاف.", "ايقـــاف"},
	}
	for _, g := range groups {
		want := Keyword(g[0])
		for _, in := range g[1:] {
			if got := Keyword(in); got != want {
				t.Errorf("Keyword(%q) = %q, want %q (= Keyword(%q))", in, got, want, g[0])
			}
		}
	}
}
