package conversation

import "testing"

func TestRatingParse(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"5": "5", " 4 ": "4", "٣": "3", "۲": "2", "1.": "1", "5!": "5", "«٥»": "5",
		"خمسة": "5", "خمسه": "5", "أربعة": "4", "Five": "5", "two": "2",
	}
	for in, want := range ok {
		if got, good := (Rating{}).Parse(in); !good || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, good, want)
		}
	}
	for _, in := range []string{"", "0", "6", "10", "55", "5 5", "شكرا", "الماء مقطوع منذ 3 أيام", "1-5"} {
		if got, good := (Rating{}).Parse(in); good {
			t.Errorf("Parse(%q) = %q; want not an answer", in, got)
		}
	}
}

func FuzzRatingParse(f *testing.F) {
	for _, s := range []string{"5", "٥", "خمسة", "five", "10", "", "5 ⭐"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := (Rating{}).Parse(s)
		if ok && (len(got) != 1 || got[0] < '1' || got[0] > '5') {
			t.Fatalf("Parse(%q) accepted %q", s, got)
		}
	})
}

func TestLooksLikeMessage(t *testing.T) {
	for text, want := range map[string]bool{
		"تسرب مياه أمام المدرسة":          true,
		"The lights are out again":        true,
		"لا أعرف":                         false,
		"maybe":                           false,
		"  ؟  !! ":                        false,
		"ممتاز جدا":                       false,
		"الخدمة سيئة جدا":                 true,
		"\u200fتسرب\u200f مياه\u200f هنا": true,
		// An answer with a comment is an attempt, not a new report.
		"5 شكرا لكم جزيلا":          false,
		"٥ الله يعطيكم العافية":     false,
		"4 - good service thanks":   false,
		"خمسة، الله يعطيكم العافية": false,
	} {
		if got := looksLikeMessage(Rating{}, text); got != want {
			t.Errorf("looksLikeMessage(%q) = %v, want %v", text, got, want)
		}
	}
}
