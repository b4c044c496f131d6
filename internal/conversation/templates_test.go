package conversation

import (
	"testing"

	"tawasul/internal/i18n"
	"tawasul/internal/sms"
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
