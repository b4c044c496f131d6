package conversation

import (
	"strings"
	"testing"

	"tawasul/internal/i18n"
	"tawasul/internal/sms"
	"tawasul/internal/tawasul"
)

// Every SMS reply must fit one segment in both languages (Arabic is UCS-2:
// 70 units), with the longest values its placeholders take.
func TestReplyTemplatesFitOneSegment(t *testing.T) {
	c, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"sms.received", "sms.detail_added", "sms.opted_out", "sms.opted_in", "sms.help"}
	for _, code := range i18n.Codes {
		l := c.Lang(code)
		for _, key := range keys {
			text := l.T(key, "Ref", "QS-26-10173", "Phone", "+966163000000")
			enc, units, segs := sms.Segments(text)
			if segs != 1 {
				t.Errorf("%s %s: %d %s units = %d segments: %q", code, key, units, enc, segs, text)
			}
		}
	}
}

// TestRepromptsFitOneSegment: for every prompt kind, what the resident is
// told after a reply that is not an answer (in both languages, in the
// TwiML answer) fits one SMS segment, and so does each thanks.
func TestRepromptsFitOneSegment(t *testing.T) {
	c, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Catalog: c}
	p := &tawasul.Prompt{Payload: map[string]any{"reference": "QS-26-10173"}}
	for name, k := range DefaultKinds() {
		text := e.reprompt(k, p)
		if !strings.Contains(text, k.Hint(c.Lang(i18n.Arabic), p)) || !strings.Contains(text, k.Hint(c.Lang(i18n.English), p)) {
			t.Errorf("%s: re-prompt %q lacks a language's hint", name, text)
		}
		if enc, units, segs := sms.Segments(text); segs != 1 {
			t.Errorf("%s re-prompt: %d %s units = %d segments: %q", name, units, enc, segs, text)
		}
		for _, code := range i18n.Codes {
			l := c.Lang(code)
			for _, ch := range k.Choices(l, p) {
				if enc, units, segs := sms.Segments(k.Thanks(l, p, ch.Value)); segs != 1 {
					t.Errorf("%s %s thanks for %s: %d %s units = %d segments", code, name, ch.Value, units, enc, segs)
				}
			}
		}
	}
}
