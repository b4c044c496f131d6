// Package phone parses, validates and formats the telephone numbers that
// residents give or send from, with Saudi Arabia as the default region.
//
// Numbers are stored and compared in E.164 form (+966551234567). Residents
// type them in every local form (0551234567, 966551234567, 551234567,
// 055 123 4567, (055) 123-4567), in international form (+966…, 00966…), in
// Arabic-Indic or Persian digits, or in a mix of scripts; Normalize turns all
// of these into E.164 and rejects anything that is not a valid number.
//
// Parsing and validation use github.com/nyaruka/phonenumbers (a port of
// Google's libphonenumber). All functions are safe for concurrent use.
package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"

	"tawasul/internal/arabic"
)

// DefaultRegion is the ISO 3166-1 region assumed for numbers written without
// a country calling code.
const DefaultRegion = "SA"

// ErrInvalid is returned, wrapped with a short reason, when a string is not a
// valid telephone number. Test for it with errors.Is. The reason never
// repeats the digits of the input, so the error is safe to log.
var ErrInvalid = errors.New("invalid phone number")

// maxDigits bounds the digits accepted before parsing: 15 for the longest
// E.164 number plus 2 for an international prefix such as 00.
const maxDigits = 17

// maxInputBytes bounds the input looked at, so that long garbage is rejected
// cheaply.
const maxInputBytes = 128

// Normalize parses a telephone number and returns it in E.164 form
// ("+966551234567").
//
// Numbers without a country calling code are read as Saudi numbers: national
// form with the trunk 0 (0551234567, 0163234567) or without it (551234567),
// or with the country code but no plus (966551234567). Numbers with a "+" or
// with the Saudi international prefix 00 may belong to any country
// (+201001234567, 00966551234567). Digits may be ASCII, Arabic-Indic (٠–٩),
// Persian (۰–۹), full-width, or a mix. Spaces, the separators - . / ( ),
// invisible format characters (such as the bidi marks that Arabic keyboards
// insert) and a leading "tel:" are ignored. A "whatsapp:" or other channel
// prefix is not: the caller must strip it.
//
// Normalize returns an error wrapping ErrInvalid if the input is empty,
// contains letters or other characters, has a "+" anywhere but at the start,
// or is not a valid number (a number that is possible in length but is not
// assigned in the numbering plan, such as +9661123456, is rejected). Every
// result r satisfies Normalize(r) == r. Normalize never panics.
//
// Valid inputs are remembered (see recent), so a resident who texts again
// costs a map lookup instead of a parse.
func Normalize(in string) (string, error) {
	if e164, ok := recent.get(in); ok {
		return e164, nil
	}
	num, err := parse(in)
	if err != nil {
		return "", err
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	recent.put(in, e164)
	return e164, nil
}

// recent holds Normalize's answers for valid inputs seen lately: every
// inbound SMS carries its sender's number, mostly the same few thousand,
// and parsing one with phonenumbers costs about 20 µs, close to a tenth of
// the webhook's own CPU time (docs/benchmarks.md). Invalid inputs are not
// kept, so arbitrary text cannot fill it; when full, it starts over.
var recent = memo{max: 50_000}

type memo struct {
	mu  sync.RWMutex
	m   map[string]string
	max int
}

func (c *memo) get(k string) (string, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *memo) put(k, v string) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]string)
	}
	c.m[k] = v
	c.mu.Unlock()
}

// IsMobile reports whether the number is a valid mobile number, or one whose
// type cannot be told apart from a mobile number (as in the USA and Canada).
// It accepts anything Normalize accepts and returns false for anything
// Normalize rejects.
func IsMobile(e164 string) bool {
	num, err := parse(e164)
	if err != nil {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return true
	}
	return false
}

// Display formats a number for people in the international format, grouped
// as in its country: "+966551234567" becomes "+966 55 123 4567". It accepts
// anything Normalize accepts; anything else is returned unchanged.
func Display(e164 string) string {
	num, err := parse(e164)
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// Mask hides a number for logs and for staff without the right to see
// personal data. For anything Normalize accepts it keeps the "+", the country
// calling code and the last two digits and replaces every other digit with
// "*": "+966551234567" becomes "+966*******67". For anything else it returns
// only the last two of its digits after one "*" for each other digit
// ("05512345" becomes "******45"), and "" when the input has no digits. The
// result never holds more than the country code and two digits of the
// input.
func Mask(e164 string) string {
	if num, err := parse(e164); err == nil {
		cc := strconv.Itoa(int(num.GetCountryCode()))
		return "+" + cc + maskDigits(phonenumbers.GetNationalSignificantNumber(num))
	}
	var digits strings.Builder
	for _, r := range norm.NFKC.String(arabic.FoldDigits(e164)) {
		if '0' <= r && r <= '9' {
			digits.WriteRune(r)
		}
	}
	return maskDigits(digits.String())
}

// maskDigits replaces all but the last two bytes of the ASCII digit string d
// with '*'; a string of two digits or fewer is masked whole.
func maskDigits(d string) string {
	if len(d) <= 2 {
		return strings.Repeat("*", len(d))
	}
	return strings.Repeat("*", len(d)-2) + d[len(d)-2:]
}

// parse cleans in as described at Normalize and returns the parsed number,
// or an error wrapping ErrInvalid if it is not a valid number.
func parse(in string) (num *phonenumbers.PhoneNumber, err error) {
	clean, err := clean(in)
	if err != nil {
		return nil, err
	}
	// phonenumbers is a large port of a Java library fed with untrusted
	// input; a bug there must not take the request down with it.
	defer func() {
		if p := recover(); p != nil {
			num, err = nil, fmt.Errorf("%w: parser failure", ErrInvalid)
		}
	}()
	num, err = phonenumbers.Parse(clean, DefaultRegion)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return nil, fmt.Errorf("%w: not a valid number", ErrInvalid)
	}
	return num, nil
}

// clean reduces in to its ASCII digits, preceded by "+" if it starts with
// one, after dropping a "tel:" prefix, separators and format characters. It
// rejects any other character.
func clean(in string) (string, error) {
	s := strings.TrimSpace(in)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > maxInputBytes {
		return "", fmt.Errorf("%w: too long", ErrInvalid)
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
	}
	// NFKC turns full-width digits and "+" and exotic spaces into ASCII;
	// FoldDigits does the same for Arabic-Indic and Persian digits.
	s = norm.NFKC.String(arabic.FoldDigits(s))

	var b strings.Builder
	b.Grow(len(s))
	digits := 0
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9':
			digits++
			if digits > maxDigits {
				return "", fmt.Errorf("%w: too many digits", ErrInvalid)
			}
			b.WriteRune(r)
		case r == '+':
			if b.Len() > 0 {
				return "", fmt.Errorf("%w: misplaced '+'", ErrInvalid)
			}
			b.WriteByte('+')
		case r == '-', r == '.', r == '/', r == '(', r == ')',
			unicode.IsSpace(r), unicode.Is(unicode.Cf, r):
			// separator or invisible mark
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrInvalid, r)
		}
	}
	if digits == 0 {
		return "", fmt.Errorf("%w: no digits", ErrInvalid)
	}
	return b.String(), nil
}
