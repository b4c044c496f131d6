package twiliofake

import (
	"strings"
	"unicode/utf16"
)

// GSM 03.38 default alphabet (basic table), excluding the escape character.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// GSM 03.38 extension table: each costs two septets (escape + char).
const gsm7Extension = "^{}\\[~]|€\f"

// Segment sizes. A single message carries 160 septets or 70 UTF-16 code
// units; once split, each part loses 6 octets to the concatenation header
// and carries 153 septets or 67 code units.
const (
	gsm7Single = 160
	gsm7Multi  = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// countSegments returns how many SMS segments body needs, following the
// rules Twilio documents: GSM-7 when every character is in the GSM 03.38
// basic or extension table (extension characters cost 2 septets), UCS-2
// otherwise (one non-GSM character switches the whole message; characters
// outside the BMP cost 2 code units). Parts are packed greedily without
// splitting an escape sequence or a surrogate pair, as handsets require.
// An empty body counts as one segment (Twilio reports "1" for media-only
// messages).
func countSegments(body string) int {
	if body == "" {
		return 1
	}
	gsm := true
	for _, r := range body {
		if !strings.ContainsRune(gsm7Basic, r) && !strings.ContainsRune(gsm7Extension, r) {
			gsm = false
			break
		}
	}

	single, multi := ucs2Single, ucs2Multi
	cost := func(r rune) int {
		if n := utf16.RuneLen(r); n > 0 {
			return n
		}
		return 1 // invalid rune: encoded as U+FFFD, one unit
	}
	if gsm {
		single, multi = gsm7Single, gsm7Multi
		cost = func(r rune) int {
			if strings.ContainsRune(gsm7Extension, r) {
				return 2
			}
			return 1
		}
	}

	total := 0
	for _, r := range body {
		total += cost(r)
	}
	if total <= single {
		return 1
	}

	segments, used := 1, 0
	for _, r := range body {
		c := cost(r)
		if used+c > multi {
			segments++
			used = 0
		}
		used += c
	}
	return segments
}
