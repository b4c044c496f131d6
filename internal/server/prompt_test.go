package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// ask opens a rating prompt for the submission the contact at phone last
// made, through the engine as a later feature would, and returns the
// question's message body.
func (b *testBundle) ask(t *testing.T, phone string) string {
	t.Helper()
	ctx := context.Background()
	c, err := b.store.ContactByPhone(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	var subID int64
	var ref string
	if err := b.srv.Pool.QueryRow(ctx, `SELECT id, reference FROM submissions WHERE contact_id = $1 ORDER BY id DESC LIMIT 1`,
		c.ID).Scan(&subID, &ref); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, b.srv.Pool, func(tx pgx.Tx) error {
		_, err := b.srv.Conversation.Ask(ctx, tx, c, tawasul.ChannelSMS, &subID, "rating", map[string]any{"reference": ref})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var body string
	if err := b.srv.Pool.QueryRow(ctx, `SELECT body FROM messages WHERE contact_id = $1 AND status = 'pending'
		ORDER BY id DESC LIMIT 1`, c.ID).Scan(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

var promptLink = regexp.MustCompile(regexp.QuoteMeta(testPublicURL) + `(/r/[a-z2-7]{16})\b`)

func TestPromptAnsweredBySMS(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110001"
	b.webhook(t, "/twilio/sms", inbound(phone, "الإنارة معطلة في شارع الملك فهد"))
	q := b.ask(t, phone)
	if !strings.Contains(q, "كيف تقيّم خدمتنا في البلاغ QS-") || !promptLink.MatchString(q) {
		t.Fatalf("question sent: %q", q)
	}
	if n := b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send_message'`); n != 1 {
		t.Fatalf("%d send_message jobs, want 1 (enqueued with the message)", n)
	}
	// An Arabic-Indic digit with punctuation is an answer.
	status, xml := b.webhook(t, "/twilio/sms", inbound(phone, "٥!"))
	if status != 200 || !strings.Contains(xml, "شكراً لتقييمك (5 من 5)") {
		t.Fatalf("answer: %d %s", status, xml)
	}
	if n := b.count(t, `SELECT count(*) FROM submission_events WHERE kind = 'rated' AND detail->>'rating' = '5'`); n != 1 {
		t.Fatalf("%d rated events", n)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Fatalf("the answer opened a submission: %d", n)
	}
	// The prompt is closed: another "5" is an ordinary message again.
	_, xml = b.webhook(t, "/twilio/sms", inbound(phone, "5"))
	if strings.Contains(xml, "تقييمك") {
		t.Fatalf("a closed prompt took another answer: %s", xml)
	}
}

func TestPromptRepromptsOnceThenTreatsTextAsMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110002"
	b.webhook(t, "/twilio/sms", inbound(phone, "حفرة في الطريق"))
	b.ask(t, phone)
	_, xml := b.webhook(t, "/twilio/sms", inbound(phone, "لا أعرف"))
	if !strings.Contains(xml, "لم نفهم ردك. أرسل رقماً من 1 إلى 5.") || !strings.Contains(xml, "Not understood. Reply 1 to 5.") {
		t.Fatalf("want one bilingual re-prompt, got %s", xml)
	}
	_, xml = b.webhook(t, "/twilio/sms", inbound(phone, "الحفرة كبيرة جداً"))
	if strings.Contains(xml, "لم نفهم") {
		t.Fatalf("re-prompted twice: %s", xml)
	}
	if !strings.Contains(xml, "QS-") {
		t.Fatalf("after the re-prompt the text should be handled as a message with a reference: %s", xml)
	}
	if n := b.count(t, `SELECT count(*) FROM prompts WHERE closed_at IS NULL`); n != 0 {
		t.Fatalf("%d prompts still open", n)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound'`); n != 3 {
		t.Fatalf("%d inbound messages stored, want 3", n)
	}
}

// TestPromptLeavesANewReportToBeFiled: a rating question waits for days;
// a new report sent meanwhile is not a failed answer but a submission of
// its own, and the question can still be answered after it.
func TestPromptLeavesANewReportToBeFiled(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110009"
	first := b.smsSubmission(t, phone, "حفرة في الطريق")
	if _, err := b.srv.Pool.Exec(context.Background(), `UPDATE submissions SET status = 'closed' WHERE reference = $1`, first); err != nil {
		t.Fatal(err)
	}
	b.ask(t, phone)
	_, xml := b.webhook(t, "/twilio/sms", inbound(phone, "تسرب مياه كبير أمام مدرسة النسيم الآن"))
	if strings.Contains(xml, "لم نفهم") || !strings.Contains(xml, "QS-") || strings.Contains(xml, first) {
		t.Fatalf("a new report while a question is open: %s, want a new reference", xml)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions WHERE status = 'new' AND body LIKE 'تسرب مياه%'`); n != 1 {
		t.Fatalf("the report was not filed as a submission of its own")
	}
	if _, xml := b.webhook(t, "/twilio/sms", inbound(phone, "٤")); !strings.Contains(xml, "(4 من 5)") {
		t.Fatalf("the question did not stay open: %s", xml)
	}
}

func TestPromptExpiredReplyIsNotLost(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110003"
	b.webhook(t, "/twilio/sms", inbound(phone, "Garbage not collected on our street"))
	b.ask(t, phone)
	if _, err := b.srv.Pool.Exec(context.Background(), `UPDATE prompts SET expires_at = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	_, xml := b.webhook(t, "/twilio/sms", inbound(phone, "3"))
	if strings.Contains(xml, "rating") || !strings.Contains(xml, "QS-") {
		t.Fatalf("a reply after expiry should be handled as a message: %s", xml)
	}
	if n := b.count(t, `SELECT count(*) FROM submission_events WHERE kind = 'rated'`); n != 0 {
		t.Fatal("an expired prompt recorded a rating")
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound' AND body = '3'`); n != 1 {
		t.Fatal("the late reply was not stored")
	}
}

func TestPromptStopClosesIt(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110004"
	b.webhook(t, "/twilio/sms", inbound(phone, "شكوى: ازدحام"))
	b.ask(t, phone)
	b.webhook(t, "/twilio/sms", inbound(phone, "STOP"))
	if n := b.count(t, `SELECT count(*) FROM prompts WHERE closed_at IS NULL`); n != 0 {
		t.Fatal("STOP left the question open")
	}
	// Nothing more may be queued to an opted-out resident.
	c, _ := b.store.ContactByPhone(context.Background(), phone)
	err := pgx.BeginFunc(context.Background(), b.srv.Pool, func(tx pgx.Tx) error {
		_, err := b.srv.Conversation.Ask(context.Background(), tx, c, tawasul.ChannelSMS, nil, "rating", nil)
		return err
	})
	if tawasul.ErrorCode(err) != tawasul.ECONFLICT {
		t.Fatalf("asking an opted-out resident: %v", err)
	}
}

func TestPromptAnsweredOnTheWeb(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	const phone = "+966551110005"
	b.webhook(t, "/twilio/sms", inbound(phone, "انقطاع المياه في حي النسيم"))
	path := promptLink.FindStringSubmatch(b.ask(t, phone))[1]
	c := b.client(t)

	res, page := b.get(t, c, path)
	if res.StatusCode != 200 || !strings.Contains(page, "كيف تقيّم خدمتنا") || !strings.Contains(page, `dir="rtl"`) {
		t.Fatalf("prompt page: %d", res.StatusCode)
	}
	if strings.Contains(page, "551110005") {
		t.Fatal("the public page shows the resident's phone number")
	}
	if _, en := b.get(t, c, path+"?lang=en"); !strings.Contains(en, "How would you rate our service") {
		t.Fatal("no English page")
	}

	if res := b.postForm(t, c, path, url.Values{"answer": {"9"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad answer: %d", res.StatusCode)
	}
	res = b.postForm(t, c, path, url.Values{"answer": {"4"}})
	if res.StatusCode != 200 {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	if n := b.count(t, `SELECT count(*) FROM prompts WHERE answered_via = 'web' AND answer->>'answer' = '4'`); n != 1 {
		t.Fatal("web answer not recorded")
	}
	if res := b.postForm(t, c, path, url.Values{"answer": {"5"}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("second answer: %d, want 409", res.StatusCode)
	}
	if n := b.count(t, `SELECT count(*) FROM submission_events WHERE kind = 'rated'`); n != 1 {
		t.Fatalf("%d ratings, want 1", n)
	}
	if res, _ := b.get(t, c, "/r/aaaaaaaaaaaaaaaa"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token: %d", res.StatusCode)
	}
	// Cross-site posts are refused like every other form.
	if res := b.postForm(t, c, path, url.Values{"answer": {"1"}}, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site answer: %d", res.StatusCode)
	}
}

func TestAdminSeesAndResolvesTwilioAlerts(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "admin@example.gov.sa", tawasul.RoleAdmin)
	b.addUser(t, "agent@example.gov.sa", tawasul.RoleAgent)
	if err := b.store.AlertRaise(context.Background(), "twilio_config", 20003, "Authentication Error - invalid username"); err != nil {
		t.Fatal(err)
	}
	agent := b.client(t)
	b.signIn(t, agent, "agent@example.gov.sa")
	if _, page := b.get(t, agent, "/"); strings.Contains(page, "20003") {
		t.Fatal("an agent sees admin alerts")
	}
	admin := b.client(t)
	b.signIn(t, admin, "admin@example.gov.sa")
	_, page := b.get(t, admin, "/")
	if !strings.Contains(page, "20003") || !strings.Contains(page, "إعدادات Twilio") {
		t.Fatal("the admin home page does not show the Twilio alert")
	}
	id := regexp.MustCompile(`/admin/alerts/(\d+)/resolve`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no resolve button")
	}
	if res := b.postForm(t, agent, id[0], nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("agent resolving: %d", res.StatusCode)
	}
	if res := b.postForm(t, admin, id[0], nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", res.StatusCode)
	}
	if _, page := b.get(t, admin, "/"); strings.Contains(page, "20003") {
		t.Fatal("a resolved alert is still shown")
	}
}
