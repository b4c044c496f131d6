// Package sms is Tawasul's Twilio messaging logic with no HTTP in it:
// parsing inbound webhooks, recognising keywords and languages, segment
// maths, and sending through Twilio's REST API.
package sms

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tawasul/internal/arabic"
	"tawasul/internal/phone"
	"tawasul/internal/tawasul"
)

// Inbound is an incoming SMS or WhatsApp message, as Twilio posts it.
type Inbound struct {
	MessageSID string
	From       string // E.164, without any whatsapp: prefix
	To         string
	Channel    tawasul.Channel
	Body       string
	OptOutType string // "STOP", "START", "HELP" with Advanced Opt-Out, else ""
	NumMedia   int
	Media      []tawasul.Media // the attachments with a usable URL, at most MaxMedia
}

// ParseInbound reads Twilio's inbound-message webhook parameters. It returns
// an EINVALID error when MessageSid or From is missing or malformed; unknown
// parameters are ignored (Twilio adds new ones without notice).
func ParseInbound(form url.Values) (*Inbound, error) {
	// A body that is not UTF-8 is kept with U+FFFD in place of the bad
	// bytes, and NUL bytes (PostgreSQL text cannot hold them) are dropped:
	// refusing it would make Twilio retry a message nobody can fix.
	body := strings.ReplaceAll(strings.ToValidUTF8(form.Get("Body"), "\uFFFD"), "\x00", "")
	in := &Inbound{MessageSID: form.Get("MessageSid"), Body: body,
		OptOutType: strings.ToUpper(form.Get("OptOutType"))}
	if in.MessageSID == "" {
		in.MessageSID = form.Get("SmsMessageSid")
	}
	if !validSID(in.MessageSID, "SM", "MM") {
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "MessageSid missing or malformed")
	}
	from, ch := splitChannel(form.Get("From"))
	in.Channel = ch
	e164, err := phone.Normalize(from)
	if err != nil {
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "From is not a phone number")
	}
	in.From = e164
	in.To, _ = splitChannel(form.Get("To"))
	if n := form.Get("NumMedia"); n != "" {
		fmt.Sscanf(n, "%d", &in.NumMedia)
	}
	in.Media = parseMedia(form, in.NumMedia)
	if len(in.Body) > maxBodyBytes {
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "Body too long")
	}
	return in, nil
}

// StatusCallback is a delivery status callback for a message Tawasul sent.
type StatusCallback struct {
	MessageSID string
	Status     string // Twilio's MessageStatus: queued, sent, delivered, failed, …
	ErrorCode  *int   // nil when Twilio gave none, or something that is not an error code
}

// MaxErrorCode is above every Twilio error code (five digits) and far
// below what a PostgreSQL integer holds.
const MaxErrorCode = 999_999

// ParseStatusCallback reads Twilio's status-callback parameters. It returns
// an EINVALID error when MessageSid is missing or malformed, or when
// MessageStatus is not a status word (lower-case letters and "_", as all of
// Twilio's are, at most 32). An ErrorCode that is not a number from 1 to
// MaxErrorCode is left out: the status is still worth applying. Unknown
// parameters are ignored.
func ParseStatusCallback(form url.Values) (*StatusCallback, error) {
	cb := &StatusCallback{MessageSID: form.Get("MessageSid"), Status: form.Get("MessageStatus")}
	if !validSID(cb.MessageSID, "SM", "MM") {
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "MessageSid missing or malformed")
	}
	if !statusWord(cb.Status) {
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.bad_request", "MessageStatus missing or malformed")
	}
	if c, err := strconv.Atoi(form.Get("ErrorCode")); err == nil && c > 0 && c <= MaxErrorCode {
		cb.ErrorCode = &c
	}
	return cb, nil
}

func statusWord(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// maxBodyBytes bounds Body: a WhatsApp message holds up to 4,096
// characters (an SMS, 1,600), each at most 4 bytes of UTF-8. Twilio sends
// nothing longer.
const maxBodyBytes = 4096 * 4

// MaxMedia is the most attachments Twilio sends with one message.
const MaxMedia = 10

// parseMedia reads MediaUrl{i} and MediaContentType{i} for i below n (and
// MaxMedia). An attachment whose URL is not an absolute http(s) URL of at
// most 2,048 bytes is left out; the message is still taken.
func parseMedia(form url.Values, n int) []tawasul.Media {
	var media []tawasul.Media
	for i := range min(n, MaxMedia) {
		raw := form.Get("MediaUrl" + strconv.Itoa(i))
		u, err := url.Parse(raw)
		if err != nil || len(raw) > 2048 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		ct := strings.TrimSpace(form.Get("MediaContentType" + strconv.Itoa(i)))
		if len(ct) > 255 || !utf8.ValidString(ct) || strings.ContainsAny(ct, "\x00\r\n") {
			ct = ""
		}
		media = append(media, tawasul.Media{URL: raw, ContentType: ct})
	}
	return media
}

// splitChannel strips a "whatsapp:" prefix and says which channel it was.
func splitChannel(addr string) (string, tawasul.Channel) {
	if rest, ok := strings.CutPrefix(addr, "whatsapp:"); ok {
		return rest, tawasul.ChannelWhatsApp
	}
	return addr, tawasul.ChannelSMS
}

// Address returns how to address e164 on channel: "whatsapp:+…" for WhatsApp.
func Address(ch tawasul.Channel, e164 string) string {
	if ch == tawasul.ChannelWhatsApp {
		return "whatsapp:" + e164
	}
	return e164
}

func validSID(s string, prefixes ...string) bool {
	if len(s) != 34 {
		return false
	}
	ok := false
	for _, p := range prefixes {
		ok = ok || strings.HasPrefix(s, p)
	}
	if !ok {
		return false
	}
	for _, r := range s[2:] {
		if !unicode.Is(unicode.ASCII_Hex_Digit, r) {
			return false
		}
	}
	return true
}

// Keyword is a command a resident can text.
type Keyword int

// Keywords. They win over everything else in a message.
const (
	NoKeyword Keyword = iota
	OptOut
	OptIn
	Help
)

var keywords = func() map[string]Keyword {
	m := map[string]Keyword{}
	add := func(k Keyword, words ...string) {
		for _, w := range words {
			m[arabic.Keyword(w)] = k
		}
	}
	add(OptOut, "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "إيقاف", "توقف", "إلغاء", "الغاء", "وقف", "إلغاء الاشتراك")
	add(OptIn, "START", "YES", "UNSTOP", "ابدأ", "اشتراك")
	add(Help, "HELP", "INFO", "مساعدة")
	return m
}()

// ClassifyKeyword says whether the whole message is a keyword: alone, with
// surrounding spaces or punctuation, any case, Arabic letter variants and
// tashkeel ignored. Twilio's OptOutType, when present, decides.
func ClassifyKeyword(body, optOutType string) Keyword {
	switch optOutType {
	case "STOP":
		return OptOut
	case "START":
		return OptIn
	case "HELP":
		return Help
	}
	return keywords[arabic.Keyword(body)]
}

// kindWords map a leading word to the submission kind it sets.
var kindWords = func() map[string]tawasul.Kind {
	m := map[string]tawasul.Kind{}
	add := func(k tawasul.Kind, words ...string) {
		for _, w := range words {
			m[arabic.Keyword(w)] = k
		}
	}
	add(tawasul.KindSuggestion, "اقتراح", "مقترح", "suggestion")
	add(tawasul.KindComplaint, "شكوى", "بلاغ", "complaint")
	add(tawasul.KindInquiry, "استفسار", "سؤال", "inquiry", "question")
	add(tawasul.KindIdea, "فكرة", "idea")
	add(tawasul.KindPraise, "شكر", "شكرا", "praise", "thanks")
	return m
}()

// ClassifyKind returns the kind set by the message's first word (اقتراح,
// suggestion, شكوى, complaint, استفسار, inquiry, فكرة, idea, شكر, praise),
// or complaint. Words end at any space (a line break, a tab) or
// punctuation (":", "،", "-").
func ClassifyKind(body string) tawasul.Kind {
	sep := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }
	first := strings.TrimLeftFunc(body, sep)
	if i := strings.IndexFunc(first, sep); i >= 0 {
		first = first[:i]
	}
	if k, ok := kindWords[arabic.Keyword(first)]; ok {
		return k
	}
	return tawasul.KindComplaint
}

// DetectLanguage returns "ar" when the text has Arabic letters, "en" when it
// has no Arabic letters but English words (a Latin word of four letters or
// more, or two of three letters or more), and fallback otherwise: digits,
// emoji, or Latin too short to say anything about the writer ("ok", "Hi",
// the letters of a plate number such as "ABC 1234" or "AB 12 CD"), so
// that an Arabic-speaking resident who sends one is not switched to
// English.
func DetectLanguage(text, fallback string) string {
	longWords, words, run := 0, 0, 0
	endWord := func() {
		switch {
		case run >= 4:
			longWords++
			words++
		case run >= 3:
			words++
		}
		run = 0
	}
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Arabic, r) && unicode.IsLetter(r):
			return "ar"
		case unicode.Is(unicode.Latin, r) && unicode.IsLetter(r):
			run++
		default:
			endWord()
		}
	}
	endWord()
	if longWords > 0 || words >= 2 {
		return "en"
	}
	return fallback
}

// ScriptLanguage returns "ar" when the text has Arabic letters, "en" when it
// has Latin letters only, and fallback when it has neither. It suits a
// keyword (END, YES, STOP), whose script is all there is to go on.
func ScriptLanguage(text, fallback string) string {
	latin := false
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Arabic, r) && unicode.IsLetter(r):
			return "ar"
		case unicode.Is(unicode.Latin, r) && unicode.IsLetter(r):
			latin = true
		}
	}
	if latin {
		return "en"
	}
	return fallback
}
