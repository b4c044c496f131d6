package loadgen

import (
	"fmt"
	"math/rand/v2"
	"net/url"

	"tawasul/internal/twiliofake"
)

// Bodies are the texts residents send in a run: realistic reports, Arabic
// first, none of them a keyword. Exported so tests can check what arrived.
var Bodies = []string{
	"انقطاع المياه في حي النسيم منذ الصباح",
	"حفرة كبيرة في شارع الملك عبدالعزيز أمام المسجد",
	"إنارة الشارع معطلة في حي الملقا، الشارع رقم 12",
	"تراكم النفايات بجوار حديقة حي الروضة منذ ثلاثة أيام",
	"اقتراح: زيادة مواقف السيارات قرب السوق المركزي",
	"استفسار عن موعد تجديد رخصة المحل التجاري",
	"كلاب ضالة قرب مدرسة حي العليا، نرجو التدخل",
	"شكرا لفريق البلدية على سرعة إصلاح الرصيف",
	"Water leak on Prince Sultan Road near exit 9, running for two days",
	"Street lights are out on Olaya Street between the mall and the hospital",
	"suggestion: more shaded benches in Al Nakheel park please",
	"Garbage bins overflowing behind Al Rawdah market, please send a truck",
}

// municipalityNumber is the number residents text (To).
const municipalityNumber = "+966114567890"

// messages makes the parameters of inbound SMS webhooks.
type messages struct {
	accountSID string
	senders    []string
}

func newMessages(senders int) *messages {
	return &messages{accountSID: twiliofake.NewSID("AC"), senders: senderPool(senders)}
}

// mobilePrefixes are the digits after +9665 with which every 7-digit
// remainder is a valid Saudi mobile number (52 is unassigned; only part of
// 57 is), so the pool needs no slow per-number validation. TestSenderPool
// checks the numbers against internal/phone.
var mobilePrefixes = []int{0, 1, 3, 4, 5, 6, 8, 9}

// senderPool returns n distinct Saudi mobile numbers in E.164
// (+9665XXXXXXXX).
func senderPool(n int) []string {
	seen := make(map[string]bool, n)
	pool := make([]string, 0, n)
	for len(pool) < n {
		s := fmt.Sprintf("+9665%d%07d", mobilePrefixes[rand.IntN(len(mobilePrefixes))], rand.IntN(10_000_000))
		if seen[s] {
			continue
		}
		seen[s] = true
		pool = append(pool, s)
	}
	return pool
}

// next returns the parameters of a new inbound SMS, as Twilio posts them.
// It is safe for concurrent use.
func (m *messages) next() url.Values {
	sid := twiliofake.NewSID("SM")
	return url.Values{
		"MessageSid":    {sid},
		"SmsMessageSid": {sid},
		"SmsSid":        {sid},
		"AccountSid":    {m.accountSID},
		"From":          {m.senders[rand.IntN(len(m.senders))]},
		"To":            {municipalityNumber},
		"Body":          {Bodies[rand.IntN(len(Bodies))]},
		"NumMedia":      {"0"},
		"NumSegments":   {"1"},
		"SmsStatus":     {"received"},
		"FromCountry":   {"SA"},
		"ToCountry":     {"SA"},
		"ApiVersion":    {"2010-04-01"},
	}
}
