package twiliofake

import smsmath "tawasul/internal/sms"

// countSegments is how many SMS segments Twilio bills for body: the same
// GSM-7/UCS-2 maths the app uses (sms.Segments), so the fake and the app
// never disagree.
func countSegments(body string) int {
	_, _, n := smsmath.Segments(body)
	return n
}
