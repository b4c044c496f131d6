package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tawasul/internal/tawasul"
)

// firstReference texts in as phone and returns the reference Tawasul gave.
func (b *testBundle) firstReference(t *testing.T, phone, body string) string {
	t.Helper()
	_, xml := b.webhook(t, "/twilio/sms", inbound(phone, body))
	ref := regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(xml)
	if ref == "" {
		t.Fatalf("no reference in %s", xml)
	}
	return ref
}

var replyKeyField = regexp.MustCompile(`name="key" value="([A-Za-z0-9]+)"`)

// replyKey opens the submission page as c and returns its reply form's key.
func (b *testBundle) replyKey(t *testing.T, c *http.Client, ref string) string {
	t.Helper()
	_, page := b.get(t, c, "/submissions/"+ref)
	m := replyKeyField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no reply form key on the page")
	}
	return m[1]
}

func TestStaffWritesToResident(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "agent@example.gov.sa", tawasul.RoleAgent)
	b.addUser(t, "mod@example.gov.sa", tawasul.RoleModerator)
	ref := b.firstReference(t, "+966551120001", "تسرب مياه أمام المدرسة")
	agent := b.client(t)
	b.signIn(t, agent, "agent@example.gov.sa")

	_, page := b.get(t, agent, "/submissions/"+ref)
	if !strings.Contains(page, `action="/submissions/`+ref+`/messages"`) {
		t.Fatal("the agent sees no form to write to the resident")
	}
	mustNotContain(t, "reachable resident's page", page, `unreachable`)
	form := url.Values{"body": {"سيصل الفريق خلال ساعتين"}, "key": {b.replyKey(t, agent, ref)}}
	// Sent twice (a double click, a reload): queued once.
	for range 2 {
		res := b.postForm(t, agent, "/submissions/"+ref+"/messages", form)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/submissions/"+ref {
			t.Fatalf("send: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE status = 'pending' AND purpose = 'staff_reply'
		AND body = 'سيصل الفريق خلال ساعتين'`); n != 1 {
		t.Fatalf("%d pending staff messages", n)
	}
	// The same form restored by the browser and used for another text is
	// refused (409), not silently dropped: the page says why, with the
	// text still in a fresh form.
	form.Set("body", "رسالة ثانية")
	res := b.postForm(t, agent, "/submissions/"+ref+"/messages", form)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("reused form key: %d, want 409", res.StatusCode)
	}
	refused := readBody(t, res)
	mustContain(t, "reused form key", refused, `id="reply-error">سبق استخدام هذا النموذج`)
	mustContain(t, "reused form key", refused, ">رسالة ثانية</textarea>")
	if m := replyKeyField.FindStringSubmatch(refused); m == nil || m[1] == form.Get("key") {
		t.Error("the refused form's page does not carry a fresh key")
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_message'`); n != 1 {
		t.Fatalf("%d send_message jobs", n)
	}
	// The audit log says which user queued it, by ID (as every staff
	// action's entry does), from where.
	if n := b.count(t, `SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id
		WHERE a.action = 'submission.message_queued' AND a.actor = 'user:' || u.id AND u.email = 'agent@example.gov.sa'
		AND a.ip <> ''`); n != 1 {
		t.Errorf("%d audit entries for the queued message by the agent's user ID, want 1", n)
	}
	// A HEAD request (a link checker, a prefetch) does not use up the
	// one-time confirmation.
	head, _ := http.NewRequest("HEAD", b.ts.URL+"/submissions/"+ref, nil)
	if res, err := agent.Do(head); err != nil || res.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	_, page = b.get(t, agent, "/submissions/"+ref)
	if !strings.Contains(page, "سيصل الفريق خلال ساعتين") || !strings.Contains(page, "أُضيفت الرسالة إلى قائمة الإرسال") {
		t.Fatal("the timeline does not show the queued message and the confirmation")
	}

	// Empty, too long and cross-site posts change nothing; the first two
	// get the page back with the reason (and the long text, to shorten).
	res = b.postForm(t, agent, "/submissions/"+ref+"/messages", url.Values{"body": {"  "}, "key": {b.replyKey(t, agent, ref)}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty: %d", res.StatusCode)
	}
	mustContain(t, "empty reply", readBody(t, res), `id="reply-error">اكتب نص الرسالة.`)
	long := strings.Repeat("ب", 1601)
	res = b.postForm(t, agent, "/submissions/"+ref+"/messages", url.Values{"body": {long}, "key": {b.replyKey(t, agent, ref)}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("too long: %d", res.StatusCode)
	}
	refused = readBody(t, res)
	mustContain(t, "long reply", refused, `id="reply-error">الرسالة أطول من 1600 حرف.`)
	mustContain(t, "long reply", refused, ">"+long+"</textarea>")
	if res := b.postForm(t, agent, "/submissions/"+ref+"/messages", url.Values{"body": {"x"}, "key": {b.replyKey(t, agent, ref)}},
		"Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d", res.StatusCode)
	}
	// Moderators never see who the resident is, so they cannot write.
	mod := b.client(t)
	b.signIn(t, mod, "mod@example.gov.sa")
	if _, page := b.get(t, mod, "/submissions/"+ref); strings.Contains(page, "/messages\"") {
		t.Fatal("a moderator is offered the form")
	}
	if res := b.postForm(t, mod, "/submissions/"+ref+"/messages", url.Values{"body": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("moderator: %d", res.StatusCode)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE purpose = 'staff_reply'`); n != 1 {
		t.Fatalf("%d staff messages, want 1", n)
	}
}

func TestStaffCannotWriteToOptedOutResident(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "agent@example.gov.sa", tawasul.RoleAgent)
	ref := b.firstReference(t, "+966551120002", "Broken streetlight")
	b.webhook(t, "/twilio/sms", inbound("+966551120002", "STOP"))
	agent := b.client(t)
	b.signIn(t, agent, "agent@example.gov.sa")
	// The page says so before anyone writes, and the form cannot be sent.
	_, page := b.get(t, agent, "/submissions/"+ref)
	mustContain(t, "opted-out resident's page", page, `id="submission-unreachable"`)
	mustContain(t, "opted-out resident's page", page, `id="reply-unreachable"`, "طلب إيقاف الرسائل (STOP) في ")
	mustContain(t, "opted-out resident's page", page, `type="submit" disabled`)
	// A form opened before the STOP is refused with the text kept.
	res := b.postForm(t, agent, "/submissions/"+ref+"/messages", url.Values{"body": {"hello"}, "key": {b.replyKey(t, agent, ref)}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("opted-out resident: %d, want 409", res.StatusCode)
	}
	mustContain(t, "refused reply", readBody(t, res), ">hello</textarea>")
	// Moderators, who never learn who the resident is, are not told either.
	b.addUser(t, "mod@example.gov.sa", tawasul.RoleModerator)
	mod := b.client(t)
	b.signIn(t, mod, "mod@example.gov.sa")
	_, page = b.get(t, mod, "/submissions/"+ref)
	mustNotContain(t, "moderator's page", page, "unreachable", "أوقف الرسائل")
	// A number Twilio called unable to receive messages is shown as such.
	if _, err := b.srv.Pool.Exec(context.Background(), `UPDATE contacts SET opted_out_at = NULL, invalid_at = now() WHERE phone = '+966551120002'`); err != nil {
		t.Fatal(err)
	}
	_, page = b.get(t, agent, "/submissions/"+ref)
	mustContain(t, "invalid number's page", page, "رقمه لا يستقبل الرسائل منذ", "أبلغت Twilio في ")
	mustContain(t, "invalid number's page", page, `type="submit" disabled`)
	if n := b.count(t, `SELECT count(*) FROM messages WHERE purpose = 'staff_reply'`); n != 0 {
		t.Fatal("a message was queued to an opted-out resident")
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_message'`); n != 0 {
		t.Fatal("a job was queued to an opted-out resident")
	}
	// Once the resident writes in from that number, it can be written to
	// again.
	b.webhook(t, "/twilio/sms", inbound("+966551120002", "ما زالت المشكلة قائمة"))
	_, page = b.get(t, agent, "/submissions/"+ref)
	mustNotContain(t, "page after the resident wrote in", page, `id="submission-unreachable"`, `type="submit" disabled`)
	res = b.postForm(t, agent, "/submissions/"+ref+"/messages", url.Values{"body": {"hello"}, "key": {b.replyKey(t, agent, ref)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply after the resident wrote in: %d, want 303", res.StatusCode)
	}
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWhatsAppWindowWarning: WhatsApp delivers a free-form reply only
// within 24 hours of the resident's last WhatsApp message, so the form warns
// before an agent writes one that would fail; an SMS submission never gets
// the warning.
func TestWhatsAppWindowWarning(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "agent@example.gov.sa", tawasul.RoleAgent)
	agent := b.client(t)
	b.signIn(t, agent, "agent@example.gov.sa")
	wa := b.smsSubmission(t, "whatsapp:+966551120003", "تسرب مياه أمام المدرسة")
	sms := b.smsSubmission(t, "+966551120004", "حفرة في الطريق")

	age := func(d string) {
		t.Helper()
		if _, err := b.srv.Pool.Exec(context.Background(),
			`UPDATE messages SET created_at = now() - $1::interval WHERE direction = 'inbound'`, d); err != nil {
			t.Fatal(err)
		}
	}
	_, page := b.get(t, agent, "/submissions/"+wa)
	mustNotContain(t, "WhatsApp submission just written", page, `id="reply-whatsapp-window"`)
	age("23 hours")
	_, page = b.get(t, agent, "/submissions/"+wa)
	mustNotContain(t, "WhatsApp submission written 23 hours ago", page, `id="reply-whatsapp-window"`)
	// Half an hour early: the reply takes a while to go out.
	age("23 hours 45 minutes")
	_, page = b.get(t, agent, "/submissions/"+wa)
	mustContain(t, "WhatsApp submission written 23¾ hours ago", page, `id="reply-whatsapp-window"`, "63016")
	_, page = b.get(t, agent, "/submissions/"+sms+"?lang=en")
	mustNotContain(t, "SMS submission", page, `id="reply-whatsapp-window"`)
}
