package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tawasul/internal/tawasul"
)

// TestInvalidUTF8 sends bytes that are not UTF-8 wherever text goes in:
// pages and the API answer 400 with a clear message, never 500; a webhook
// keeps the message (bad bytes replaced) rather than losing it.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "agent@example.gov.sa", tawasul.RoleAgent)
	token, _ := b.apiToken(t, tawasul.RoleAgent)
	c := b.client(t)
	b.signIn(t, c, "agent@example.gov.sa")
	ref := b.firstReference(t, "+966551350001", "بلاغ")

	if res, page := b.get(t, c, "/r/%FF%FE"); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "UTF-8") {
		t.Errorf("public prompt page: %d", res.StatusCode)
	}
	if res, page := b.get(t, c, "/submissions?q=%FF"); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "UTF-8") {
		t.Errorf("staff list: %d", res.StatusCode)
	}
	if res, body := b.apiGet(t, token, "/api/v1/submissions?q=%FF"); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(string(body), `"code":"invalid"`) {
		t.Errorf("API: %d %s", res.StatusCode, body)
	}
	if res := b.postForm(t, c, "/submissions/"+ref+"/messages", url.Values{"body": {"\xff\xfe"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("staff reply: %d", res.StatusCode)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE purpose = 'staff_reply'`); n != 0 {
		t.Error("a reply with bad bytes was queued")
	}

	if res := b.postForm(t, c, "/submissions/"+ref+"/messages", url.Values{"body": {"a\x00b"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("staff reply with a NUL byte: %d", res.StatusCode)
	}
	if status, xml := b.webhook(t, "/twilio/sms", inbound("+966551350003", "ماء\x00 مقطوع")); status != 200 || !strings.Contains(xml, "QS-") {
		t.Errorf("webhook with a NUL byte: %d %s", status, xml)
	}
	status, xml := b.webhook(t, "/twilio/sms", inbound("+966551350002", "ماء\xff مقطوع"))
	if status != 200 || !strings.Contains(xml, "QS-") {
		t.Fatalf("webhook with bad bytes: %d %s", status, xml)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE body = 'ماء`+"\uFFFD"+` مقطوع'`); n != 1 {
		t.Error("the message was not kept with the bad bytes replaced")
	}
}
