package sms

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"tawasul/internal/tawasul"
)

func TestParseInbound(t *testing.T) {
	sid := "SM" + strings.Repeat("a1", 16)
	in, err := ParseInbound(url.Values{"MessageSid": {sid}, "From": {"whatsapp:+966551234567"}, "Body": {"مرحبا"}, "Unknown": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.From != "+966551234567" || in.Channel != tawasul.ChannelWhatsApp || in.MessageSID != sid {
		t.Errorf("got %+v", in)
	}
	// The longest WhatsApp message, 4,096 Arabic letters with emoji, is kept whole.
	long := strings.Repeat("ش", 4000) + strings.Repeat("👍", 96)
	if in, err := ParseInbound(url.Values{"MessageSid": {sid}, "From": {"whatsapp:+966551234567"}, "Body": {long}}); err != nil || in.Body != long {
		t.Errorf("a 4,096-character WhatsApp message: %v", err)
	}
	for name, form := range map[string]url.Values{
		"no sid":    {"From": {"+966551234567"}},
		"short sid": {"MessageSid": {"SM123"}, "From": {"+966551234567"}},
		"bad from":  {"MessageSid": {sid}, "From": {"hello"}},
		"too long":  {"MessageSid": {sid}, "From": {"+966551234567"}, "Body": {strings.Repeat("a", maxBodyBytes+1)}},
	} {
		if _, err := ParseInbound(form); tawasul.ErrorCode(err) != tawasul.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestClassify(t *testing.T) {
	kw := map[string]Keyword{
		"STOP": OptOut, " stop. ": OptOut, "إلغاء": OptOut, "الغاء": OptOut, "إلغاء الاشتراك": OptOut, "وقف": OptOut,
		"START": OptIn, "ابدأ": OptIn, "اشتراك": OptIn, "help": Help, "مساعدة؟": Help, "مُساعَدة": Help,
		"stop the leak": NoKeyword, "": NoKeyword,
	}
	for body, want := range kw {
		if got := ClassifyKeyword(body, ""); got != want {
			t.Errorf("ClassifyKeyword(%q) = %v, want %v", body, got, want)
		}
	}
	kinds := map[string]tawasul.Kind{
		"اقتراح: تشجير الشارع": tawasul.KindSuggestion, "فكرة تطبيق للبلدية": tawasul.KindIdea,
		"شكرا على سرعة الاستجابة": tawasul.KindPraise, "استفسار عن رخصة بناء": tawasul.KindInquiry,
		"Suggestion: more benches": tawasul.KindSuggestion, "حفرة": tawasul.KindComplaint,
		"اقتراح\nوضع مطبات": tawasul.KindSuggestion, "Suggestion\nadd bumps": tawasul.KindSuggestion,
		"اقتراح\tمطبات": tawasul.KindSuggestion, "اقتراح،وضع مطبات": tawasul.KindSuggestion,
		"شكراً، وصل الفريق": tawasul.KindPraise, "- فكرة: حديقة": tawasul.KindIdea, "\u200fاستفسار عن رخصة": tawasul.KindInquiry,
		"اقتراحات كثيرة": tawasul.KindComplaint, "": tawasul.KindComplaint,
	}
	for body, want := range kinds {
		if got := ClassifyKind(body); got != want {
			t.Errorf("ClassifyKind(%q) = %v, want %v", body, got, want)
		}
	}
	langs := map[string]string{"مرحبا hello": "ar", "hello": "en", "٤": "x", "👍": "x",
		// Latin too short to tell leaves the resident's language alone.
		"x": "x", "ok": "x", "OK!": "x", "Hi": "x", "ABC 1234": "x", "AB 12 CD": "x", "شكرا ok": "ar",
		"ok thanks": "en", "Thanks": "en", "no water": "en", "big pit": "en", "The street light is broken": "en"}
	for text, want := range langs {
		if got := DetectLanguage(text, "x"); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", text, got, want)
		}
	}
	// A keyword's script is all there is to go on.
	for text, want := range map[string]string{"END": "en", "YES": "en", "stop": "en", "إيقاف": "ar", "٤": "x"} {
		if got := ScriptLanguage(text, "x"); got != want {
			t.Errorf("ScriptLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

func FuzzParseInbound(f *testing.F) {
	sid := "SM" + strings.Repeat("0f", 16)
	f.Add(sid, "+966551234567", "انقطاع المياه", "")
	f.Add(sid, "whatsapp:٠٥٥١٢٣٤٥٦٧", "STOP", "STOP")
	f.Add("SMxyz", "", "\xff\xfe", "START")
	f.Add(sid, "00966 55 123 4567", strings.Repeat("ا", 2000), "help")
	f.Fuzz(func(t *testing.T, sid, from, body, optOut string) {
		in, err := ParseInbound(url.Values{"MessageSid": {sid}, "From": {from}, "Body": {body}, "OptOutType": {optOut},
			"NumMedia": {optOut}, "MediaUrl0": {body}, "MediaContentType0": {from}})
		if err != nil {
			if tawasul.ErrorCode(err) != tawasul.EINVALID {
				t.Fatalf("error is not EINVALID: %v", err)
			}
			return
		}
		if !strings.HasPrefix(in.From, "+") || len(in.MessageSID) != 34 {
			t.Fatalf("accepted malformed input: %+v", in)
		}
		_ = ClassifyKeyword(in.Body, in.OptOutType)
		_ = ClassifyKind(in.Body)
		for _, m := range in.Media {
			if u, err := url.Parse(m.URL); err != nil || u.Host == "" || len(m.URL) > 2048 || strings.ContainsAny(m.ContentType, "\r\n") {
				t.Fatalf("accepted a malformed attachment: %+v", m)
			}
		}
	})
}

// TestParseInboundMedia: the attachments Twilio lists (NumMedia, then
// MediaUrl{i} and MediaContentType{i}) are kept in order; one with an
// unusable URL is left out, and the message is taken all the same.
func TestParseInboundMedia(t *testing.T) {
	sid := "MM" + strings.Repeat("0f", 16)
	photo := "https://api.twilio.com/2010-04-01/Accounts/AC" + strings.Repeat("1", 32) + "/Messages/" + sid + "/Media/ME" + strings.Repeat("2", 32)
	in, err := ParseInbound(url.Values{"MessageSid": {sid}, "From": {"whatsapp:+966551234567"}, "Body": {""},
		"NumMedia": {"4"}, "MediaUrl0": {photo}, "MediaContentType0": {"image/jpeg"},
		"MediaUrl1": {"javascript:alert(1)"}, "MediaContentType1": {"text/html"},
		"MediaUrl2": {photo + "3"}, "MediaContentType2": {"video/mp4\r\nX-Evil: 1"},
		"MediaUrl9": {photo + "9"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []tawasul.Media{{URL: photo, ContentType: "image/jpeg"}, {URL: photo + "3"}}
	if !slices.Equal(in.Media, want) || in.NumMedia != 4 {
		t.Errorf("media %+v (NumMedia %d), want %+v", in.Media, in.NumMedia, want)
	}
	if in, err := ParseInbound(url.Values{"MessageSid": {sid}, "From": {"+966551234567"}, "NumMedia": {"999999"}}); err != nil || len(in.Media) != 0 {
		t.Errorf("a huge NumMedia with no URLs: %+v %v", in, err)
	}
}

// TestParseStatusCallback: a status callback is applied only with a
// well-formed MessageSid and a status word; anything else is a malformed
// request (400, not a database error and a 503 that Twilio would retry).
// An ErrorCode that is not one is dropped and the status kept.
func TestParseStatusCallback(t *testing.T) {
	sid := "SM" + strings.Repeat("ab", 16)
	cb, err := ParseStatusCallback(url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"21610"},
		"SmsStatus": {"undelivered"}, "ChannelPrefix": {"sms"}})
	if err != nil || cb.MessageSID != sid || cb.Status != "undelivered" || cb.ErrorCode == nil || *cb.ErrorCode != 21610 {
		t.Fatalf("ParseStatusCallback = %+v, %v", cb, err)
	}
	for _, code := range []string{"", "0", "-30003", "1000000", "99999999999999999999", "30003x"} {
		cb, err := ParseStatusCallback(url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {code}})
		if err != nil || cb.ErrorCode != nil || cb.Status != "failed" {
			t.Errorf("ErrorCode %q: %+v, %v; want the status without a code", code, cb, err)
		}
	}
	for name, form := range map[string]url.Values{
		"no SID":            {"MessageStatus": {"delivered"}},
		"short SID":         {"MessageSid": {"SMx"}, "MessageStatus": {"delivered"}},
		"not UTF-8 SID":     {"MessageSid": {"SM" + strings.Repeat("\xff", 32)}, "MessageStatus": {"delivered"}},
		"call SID":          {"MessageSid": {"CA" + strings.Repeat("ab", 16)}, "MessageStatus": {"delivered"}},
		"no status":         {"MessageSid": {sid}},
		"NUL in status":     {"MessageSid": {sid}, "MessageStatus": {"a\x00"}},
		"status not a word": {"MessageSid": {sid}, "MessageStatus": {"Delivered!"}},
		"long status":       {"MessageSid": {sid}, "MessageStatus": {strings.Repeat("a", 33)}},
	} {
		if cb, err := ParseStatusCallback(form); tawasul.ErrorCode(err) != tawasul.EINVALID {
			t.Errorf("%s: %+v, %v; want EINVALID", name, cb, err)
		}
	}
}

func FuzzParseStatusCallback(f *testing.F) {
	f.Add("SM"+strings.Repeat("0f", 16), "delivered", "")
	f.Add("MM"+strings.Repeat("0f", 16), "failed", "21610")
	f.Add("SM\xff", "a\x00", "99999999999999999999")
	f.Fuzz(func(t *testing.T, sid, status, code string) {
		cb, err := ParseStatusCallback(url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "ErrorCode": {code}})
		if err != nil {
			if tawasul.ErrorCode(err) != tawasul.EINVALID {
				t.Fatalf("error is not EINVALID: %v", err)
			}
			return
		}
		if len(cb.MessageSID) != 34 || !utf8.ValidString(cb.Status) || strings.ContainsRune(cb.Status, 0) || len(cb.Status) > 32 {
			t.Fatalf("accepted malformed input: %+v", cb)
		}
		if cb.ErrorCode != nil && (*cb.ErrorCode < 1 || *cb.ErrorCode > MaxErrorCode) {
			t.Fatalf("accepted error code %d", *cb.ErrorCode)
		}
	})
}
