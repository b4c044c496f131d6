package sms

import (
	"unicode/utf16"
)

// Encoding is the character encoding an SMS body is sent in.
type Encoding string

const (
	// GSM7 is the GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet with its
	// extension table; each character costs one septet, or two for the
	// extension characters, which are sent as an escape and a character.
	GSM7 Encoding = "GSM-7"
	// UCS2 is UCS-2/UTF-16; each character costs one 16-bit code unit, or two
	// for characters outside the Basic Multilingual Plane (most emoji).
	UCS2 Encoding = "UCS-2"
)

// Per-segment capacities in units (septets for GSM-7, UTF-16 code units for
// UCS-2). A message longer than one segment is sent as a concatenated SMS,
// whose 6-byte user data header leaves fewer units in each part.
const (
	gsm7Single = 160
	gsm7Multi  = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// gsm7Basic is the GSM 03.38 default alphabet, in code order 0x00–0x7F, less
// 0x1B (the escape to the extension table). 0x09 is "Ç" as in the
// normative Unicode mapping; "ç" is not in the alphabet.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞ" + "ÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension holds the characters of the GSM 03.38 extension table that
// are used in practice: form feed, ^ { } \ [ ~ ] | and €.
const gsm7Extension = "\f^{}\\[~]|€"

// gsm7Cost maps every GSM-7 character to its cost in septets.
var gsm7Cost = func() map[rune]int {
	m := make(map[rune]int, 138)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// Segments reports how body would be sent as SMS: its encoding, its length
// in units, and the number of segments (separate SMS, each billed) it needs.
//
// If every character of body is in the GSM-7 default alphabet or its
// extension table, enc is GSM7 and units counts septets, two for each of
// form feed, ^ { } \ [ ~ ] | and €. A body of up to 160 septets is one
// segment; a longer one is split into segments of at most 153 septets.
//
// Otherwise enc is UCS2 and units counts UTF-16 code units, two for each
// character outside the Basic Multilingual Plane (most emoji). A body of up
// to 70 units is one segment; a longer one is split into segments of at most
// 67 units. A single character outside GSM-7 (an Arabic letter, a curly
// quote ’, an emoji) makes the whole body UCS-2. No character is replaced by
// a GSM-7 look-alike. Invalid UTF-8 bytes count as U+FFFD.
//
// When splitting, an escape pair or a surrogate pair is never cut between
// two segments, as senders (and Twilio's segment calculator) do, so a
// segment may hold one unit less than its maximum and segments can be one
// more than ceil(units/153) or ceil(units/67).
//
// An empty body is one segment of zero units in GSM7, as providers such as
// Twilio charge for it.
func Segments(body string) (enc Encoding, units int, segments int) {
	enc, single, multi := GSM7, gsm7Single, gsm7Multi
	for _, r := range body {
		if _, ok := gsm7Cost[r]; !ok {
			enc, single, multi = UCS2, ucs2Single, ucs2Multi
			break
		}
	}
	cost := func(r rune) int {
		if enc == GSM7 {
			return gsm7Cost[r]
		}
		if n := utf16.RuneLen(r); n > 0 {
			return n
		}
		return 1 // unreachable for runes from a range loop; be safe
	}

	for _, r := range body {
		units += cost(r)
	}
	if units <= single {
		return enc, units, 1
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
	return enc, units, segments
}
