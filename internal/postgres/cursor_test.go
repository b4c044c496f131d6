package postgres

import (
	"testing"
	"time"
)

// FuzzDecodeCursor: any string decodes to a valid cursor or a 400-style
// error, never a panic; a cursor this service made decodes to itself.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("")
	f.Add(encodeCursor(cursor{at: time.Date(2026, 11, 27, 12, 0, 0, 123456000, time.UTC), id: 42}))
	f.Add("OTIyMzM3MjAzNjg1NDc3NTgwNy4x") // 9223372036854775807.1
	f.Add("LTEuMQ")                       // -1.1
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok, err := decodeCursor(s)
		if err != nil {
			if ok {
				t.Fatal("error and ok")
			}
			return
		}
		if !ok {
			if s != "" {
				t.Fatalf("%q: no error, not ok", s)
			}
			return
		}
		if c.id <= 0 || c.at.Year() < 1970 || c.at.Year() > 9999 {
			t.Fatalf("%q decoded to %+v", s, c)
		}
		back, ok2, err := decodeCursor(encodeCursor(c))
		if err != nil || !ok2 || !back.at.Equal(c.at) || back.id != c.id {
			t.Fatalf("round trip of %+v: %+v %v", c, back, err)
		}
	})
}
