package twiliofake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Sign returns the X-Twilio-Signature value for a request to fullURL carrying
// the form parameters params, computed exactly as Twilio computes it:
//
//  1. start with fullURL, byte for byte as configured at Twilio (scheme, host,
//     port if any, path and the raw query string);
//  2. append, for each parameter name sorted by byte order, the name followed
//     by the value — once per value; the values of a repeated name are taken
//     in sorted order, as twilio-python and twilio-node do;
//  3. HMAC-SHA1 the result keyed with authToken;
//  4. encode the MAC with standard base64 (with padding).
//
// For a GET webhook pass nil params: the query string is already part of
// fullURL. Names without values contribute nothing, matching what an encoded
// form would carry.
func Sign(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vals := params[k]
		if len(vals) > 1 {
			vals = slices.Clone(vals)
			slices.Sort(vals)
		}
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}

	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// NewSID returns prefix followed by 32 random lowercase hexadecimal digits,
// the shape of every Twilio SID (e.g. NewSID("SM") for a message,
// NewSID("AC") for an account). It uses crypto/rand.
func NewSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read panics on failure)
	return prefix + hex.EncodeToString(b[:])
}

// NewAuthToken returns a random 32-character lowercase hexadecimal string,
// suitable as Options.AuthToken (twilio-go requires credentials to be
// alphanumeric).
func NewAuthToken() string { return NewSID("") }

// newIdempotencyToken returns a value for the I-Twilio-Idempotency-Token
// header. Twilio does not document the format; the fake uses a random UUIDv4
// string, and a fresh one per request (the fake never retries).
func newIdempotencyToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// isSID reports whether s is prefix followed by exactly 32 hex digits.
func isSID(s, prefix string) bool {
	if len(s) != len(prefix)+32 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
