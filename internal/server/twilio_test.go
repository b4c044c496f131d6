package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tawasul/internal/postgres"
	"tawasul/internal/twiliofake"
)

// webhook posts params to path signed for signURL+path (testPublicURL by
// default), and returns status and body.
func (b *testBundle) webhook(t *testing.T, path string, params url.Values, mutate ...func(*http.Request)) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.ts.URL+path, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(testAuthToken, testPublicURL+path, params))
	for _, m := range mutate {
		m(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// syncBuffer is a bytes.Buffer that a server's goroutines may write to
// while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func inbound(from, body string) url.Values {
	return url.Values{"MessageSid": {twiliofake.NewSID("SM")}, "AccountSid": {twiliofake.NewSID("AC")},
		"From": {from}, "To": {"+966110000000"}, "Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"},
		"ApiVersion": {"2010-04-01"}, "SomeNewTwilioParam": {"accepted"}}
}

func (b *testBundle) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := b.srv.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	p := inbound("+966551234567", "انقطاع المياه في حي النسيم")
	cases := map[string]func(*http.Request){
		"missing header": func(r *http.Request) { r.Header.Del("X-Twilio-Signature") },
		"wrong token": func(r *http.Request) {
			r.Header.Set("X-Twilio-Signature", twiliofake.Sign("other", testPublicURL+"/twilio/sms", p))
		},
		// Signed for the Host the request reached, not the public URL Twilio was given.
		"wrong URL": func(r *http.Request) {
			r.Header.Set("X-Twilio-Signature", twiliofake.Sign(testAuthToken, b.ts.URL+"/twilio/sms", p))
		},
		"tampered param": func(r *http.Request) {
			q := url.Values{}
			for k, v := range p {
				q[k] = v
			}
			q.Set("Body", "something else")
			r.Body = io.NopCloser(strings.NewReader(q.Encode()))
			r.ContentLength = int64(len(q.Encode()))
		},
	}
	var log syncBuffer
	b.srv.Logger = slog.New(slog.NewTextHandler(&log, nil))
	for name, mutate := range cases {
		forgedID := func(r *http.Request) { r.Header.Set("X-Request-Id", "forged-id") }
		if status, _ := b.webhook(t, "/twilio/sms", p, mutate, forgedID); status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, status)
		}
	}
	// Refusals are logged with where the signature was expected to be
	// made for (the usual mistake is a URL at Twilio that is not
	// TAWASUL_PUBLIC_URL), and nothing of the request's content: the
	// first of each kind, then at most one a minute, so a flood of forged
	// requests cannot fill the logs. A request ID the client sends is not
	// used either.
	got := log.String()
	if strings.Count(got, "invalid signature") != 1 || strings.Count(got, "no signature") != 1 ||
		!strings.Contains(got, "signed_for="+testPublicURL+"/twilio/sms") || strings.Contains(got, "551234567") ||
		strings.Contains(got, "forged-id") {
		t.Errorf("log of %d refused webhooks: %s", len(cases), got)
	}
	// Nothing is read before the signature, not even the query string: an
	// unsigned request is 403 whatever it carries, and sets no cookie.
	req, _ := http.NewRequest("POST", b.ts.URL+"/twilio/sms?lang=en&x=%ff", strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("unsigned request with a query: %d (Set-Cookie %q), want 403 and no cookie", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	if n := b.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored from forged requests", n)
	}
	status, body := b.webhook(t, "/twilio/sms", p)
	if status != 200 || !strings.Contains(body, "<Message>استلمنا بلاغك رقم QS-") {
		t.Fatalf("valid webhook: %d %s", status, body)
	}
}

func TestWebhookBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	big := inbound("+966551234567", strings.Repeat("ب", 40<<10))
	if status, _ := b.webhook(t, "/twilio/sms", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d, want 413", status)
	}
	noSID := inbound("+966551234567", "x")
	noSID.Del("MessageSid")
	if status, _ := b.webhook(t, "/twilio/sms", noSID); status != http.StatusBadRequest {
		t.Errorf("no MessageSid: %d, want 400", status)
	}
	if status, _ := b.webhook(t, "/twilio/sms", inbound("not a phone", "x")); status != http.StatusBadRequest {
		t.Errorf("bad From: %d, want 400", status)
	}
	// A signed form whose Content-Type cannot be read is malformed, not
	// taken; a body that is not a form cannot be signed for (403).
	badType := func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset") }
	if status, _ := b.webhook(t, "/twilio/sms", inbound("+966551234567", "x"), badType); status != http.StatusBadRequest {
		t.Errorf("unreadable Content-Type: %d, want 400", status)
	}
	notForm := func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("%zz=1")); r.ContentLength = 5 }
	if status, _ := b.webhook(t, "/twilio/sms", inbound("+966551234567", "x"), notForm); status != http.StatusForbidden {
		t.Errorf("body that is not a form: %d, want 403", status)
	}
	if n := b.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored from bad input, want none", n)
	}
	res, err := http.Get(b.ts.URL + "/twilio/sms")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d (Allow %q), want 405 (Allow POST)", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestWebhookReplayedConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	p := inbound("0551234567", "حفرة كبيرة في شارع الملك عبدالعزيز")
	answers := make([]string, 5)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			status, body := b.webhook(t, "/twilio/sms", p)
			if status != 200 {
				t.Errorf("delivery %d: %d", i, status)
			}
			answers[i] = body
		})
	}
	wg.Wait()
	for i := range answers {
		if answers[i] != answers[0] || !strings.Contains(answers[0], "QS-") {
			t.Fatalf("answers differ or lack a reference: %q vs %q", answers[i], answers[0])
		}
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound'`); n != 1 {
		t.Errorf("%d inbound messages, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM contacts WHERE phone = '+966551234567'`); n != 1 {
		t.Errorf("contact not normalised to E.164 once: %d", n)
	}
}

// TestReplayChangesNothing: a webhook delivered again later answers as
// the first time and changes nothing about the resident; after they opt
// out, a replay of an earlier message is answered with nothing, and a
// replay of the opt-out itself with its confirmation.
func TestReplayChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	from := "+966551230001"
	state := func() (lang string, seen string) {
		t.Helper()
		err := b.srv.Pool.QueryRow(context.Background(),
			`SELECT language, last_seen_at::text FROM contacts WHERE phone = $1`, from).Scan(&lang, &seen)
		if err != nil {
			t.Fatal(err)
		}
		return lang, seen
	}
	arabic := inbound(from, "انقطاع المياه في حي النسيم")
	_, first := b.webhook(t, "/twilio/sms", arabic)
	if _, xml := b.webhook(t, "/twilio/sms", inbound(from, "The water is still cut off this morning")); !strings.Contains(xml, "QS-") {
		t.Fatalf("follow-up in English: %s", xml)
	}
	lang, seen := state()
	if lang != "en" {
		t.Fatalf("language after an English message: %s", lang)
	}
	if _, again := b.webhook(t, "/twilio/sms", arabic); again != first {
		t.Errorf("replay answered %q, first delivery %q", again, first)
	}
	if l, s := state(); l != lang || s != seen {
		t.Errorf("replay changed the contact: language %s→%s, last seen %s→%s", lang, l, seen, s)
	}

	stop := inbound(from, "STOP")
	_, confirmation := b.webhook(t, "/twilio/sms", stop)
	if !strings.Contains(confirmation, "<Message>") {
		t.Fatalf("no opt-out confirmation: %s", confirmation)
	}
	if _, xml := b.webhook(t, "/twilio/sms", arabic); strings.Contains(xml, "<Message>") {
		t.Errorf("replay after the opt-out was answered: %s", xml)
	}
	if _, xml := b.webhook(t, "/twilio/sms", stop); xml != confirmation {
		t.Errorf("replayed STOP answered %q, first delivery %q", xml, confirmation)
	}
	if n := b.count(t, `SELECT count(*) FROM messages WHERE direction = 'inbound'`); n != 3 {
		t.Errorf("%d inbound messages, want 3", n)
	}
}

func TestKeywordsAndOptOut(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	from := "+966551234567"
	send := func(body string) string {
		t.Helper()
		status, xml := b.webhook(t, "/twilio/sms", inbound(from, body))
		if status != 200 {
			t.Fatalf("%q: %d", body, status)
		}
		return xml
	}
	if xml := send("  إيقاف! "); !strings.Contains(xml, "أوقفنا رسائل البلدية") {
		t.Fatalf("Arabic STOP: %s", xml)
	}
	// Opted out: nothing is sent again — not even to STOP, HELP or a report…
	for _, body := range []string{"STOP", "مساعدة", "الانارة طافية في حي الريان"} {
		if xml := send(body); strings.Contains(xml, "<Message>") {
			t.Errorf("opted-out contact was answered to %q: %s", body, xml)
		}
	}
	// …but the report is kept.
	if n := b.count(t, `SELECT count(*) FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE c.phone = $1`, from); n != 1 {
		t.Errorf("report from an opted-out contact: %d submissions, want 1", n)
	}
	// The resident's language (Arabic, from the first keyword) answers
	// Latin keywords too.
	if xml := send("start"); !strings.Contains(xml, "عادت رسائل البلدية") {
		t.Fatalf("opt in: %s", xml)
	}
	if xml := send("HELP."); !strings.Contains(xml, "إيقاف") || !strings.Contains(xml, "940") {
		t.Errorf("help: %s", xml)
	}
	// A new resident whose first message is a keyword is answered in the
	// keyword's language.
	if _, xml := b.webhook(t, "/twilio/sms", inbound("+966551234599", "help")); !strings.Contains(xml, "Reply STOP") || !strings.Contains(xml, "940") {
		t.Errorf("help from a new resident: %s", xml)
	}
	// However short: END is a keyword in Latin letters, so English.
	if _, xml := b.webhook(t, "/twilio/sms", inbound("+966551234598", "END")); !strings.Contains(xml, "You will get no more messages") {
		t.Errorf("END from a new resident: %s", xml)
	}
}

func TestKeywordVariants(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for i, body := range []string{"الغاء", "إلغاء الاشتراك", "ايقاف", "Stop", "UNSUBSCRIBE", "وقف", "توقف 🙏"} {
		from := "+96655123450" + string(rune('0'+i))
		_, xml := b.webhook(t, "/twilio/sms", inbound(from, body))
		if !strings.Contains(xml, "<Message>") || strings.Contains(xml, "QS-") {
			t.Errorf("%q was not taken as opt-out: %s", body, xml)
		}
	}
	// Twilio's Advanced Opt-Out parameter decides even for other words.
	p := inbound("+966551112233", "please no more")
	p.Set("OptOutType", "STOP")
	if _, xml := b.webhook(t, "/twilio/sms", p); strings.Contains(xml, "QS-") {
		t.Errorf("OptOutType=STOP ignored: %s", xml)
	}
	// A keyword inside a sentence is not a keyword.
	if _, xml := b.webhook(t, "/twilio/sms", inbound("+966551112244", "stop the water leak please")); !strings.Contains(xml, "QS-") {
		t.Errorf("sentence with 'stop' became a keyword: %s", xml)
	}
}

func TestFollowupAddsToSameSubmission(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	from := "+966501234567"
	_, first := b.webhook(t, "/twilio/sms", inbound(from, "اقتراح: زيادة الإنارة في ممشى حي الصفراء"))
	_, second := b.webhook(t, "/twilio/sms", inbound(from, "وخصوصاً عند المدخل الشمالي"))
	ref := first[strings.Index(first, "QS-"):][:len("QS-26-0001")]
	if !strings.Contains(second, ref) || !strings.Contains(second, "أضفنا رسالتك") {
		t.Fatalf("follow-up did not name the same reference %s: %s", ref, second)
	}
	// A short Latin reply ("ok") says nothing about the resident's
	// language: the answer stays Arabic.
	if _, third := b.webhook(t, "/twilio/sms", inbound(from, "ok")); !strings.Contains(third, "أضفنا رسالتك") || !strings.Contains(third, ref) {
		t.Errorf("\"ok\" from an Arabic-speaking resident: %s, want the Arabic answer", third)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions`); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
	d, err := postgres.New(b.srv.Pool).SubmissionDetail(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != "suggestion" || d.Body != "اقتراح: زيادة الإنارة في ممشى حي الصفراء\nوخصوصاً عند المدخل الشمالي\nok" {
		t.Errorf("kind %q body %q", d.Kind, d.Body)
	}
	// English message from another contact gets an English answer.
	if _, xml := b.webhook(t, "/twilio/sms", inbound("+966501234568", "The street light is broken")); !strings.Contains(xml, "We received your message") {
		t.Errorf("English answer: %s", xml)
	}
}

func TestStatusCallbacksOnlyMoveForward(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	sid := twiliofake.NewSID("SM")
	_, err := b.srv.Pool.Exec(ctx, `WITH c AS (INSERT INTO contacts (phone) VALUES ('+966551234567') RETURNING id)
		INSERT INTO messages (contact_id, direction, channel, body, status, twilio_sid)
		SELECT id, 'outbound', 'sms', 'x', 'queued', $1 FROM c`, sid)
	if err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var s string
		_ = b.srv.Pool.QueryRow(ctx, `SELECT status FROM messages WHERE twilio_sid = $1`, sid).Scan(&s)
		return s
	}
	cb := func(st string) {
		code, _ := b.webhook(t, "/twilio/sms/status", url.Values{"MessageSid": {sid}, "MessageStatus": {st}})
		if code != http.StatusNoContent {
			t.Fatalf("callback %s: %d", st, code)
		}
	}
	for _, step := range []struct{ send, want string }{
		{"delivered", "delivered"}, {"sent", "delivered"}, {"queued", "delivered"}, {"delivered", "delivered"},
	} {
		cb(step.send)
		if got := status(); got != step.want {
			t.Errorf("after %s: %s, want %s", step.send, got, step.want)
		}
	}
	// failed is final: nothing moves it.
	sid2 := sid
	_, _ = b.srv.Pool.Exec(ctx, `UPDATE messages SET status = 'sent' WHERE twilio_sid = $1`, sid2)
	code, _ := b.webhook(t, "/twilio/sms/status", url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {"30003"}})
	if code != 204 || status() != "failed" {
		t.Fatalf("failed: %d %s", code, status())
	}
	cb("delivered")
	if status() != "failed" {
		t.Error("a delivered callback after failed changed the status")
	}
	// An ErrorCode that is not one of Twilio's (too large for any) is left
	// out; the status is still applied, and the answer is not a 5xx that
	// Twilio would retry for ever.
	_, _ = b.srv.Pool.Exec(ctx, `UPDATE messages SET status = 'sent', error_code = NULL WHERE twilio_sid = $1`, sid)
	code, _ = b.webhook(t, "/twilio/sms/status", url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"99999999999"}})
	var errCode *int
	_ = b.srv.Pool.QueryRow(ctx, `SELECT error_code FROM messages WHERE twilio_sid = $1`, sid).Scan(&errCode)
	if code != 204 || status() != "undelivered" || errCode != nil {
		t.Errorf("oversized ErrorCode: %d, status %s, code %v; want 204, undelivered, none", code, status(), errCode)
	}
	// A malformed callback is a bad request (400), not a database error
	// answered 503, and nothing is held for it.
	for _, form := range []url.Values{
		{"MessageSid": {"SM\xff"}, "MessageStatus": {"delivered"}},
		{"MessageSid": {twiliofake.NewSID("SM")}, "MessageStatus": {"a\x00"}},
		{"MessageSid": {twiliofake.NewSID("SM")}, "MessageStatus": {strings.Repeat("a", 60000)}},
	} {
		if code, _ := b.webhook(t, "/twilio/sms/status", form); code != http.StatusBadRequest {
			t.Errorf("malformed callback %.40q: %d, want 400", form.Encode(), code)
		}
	}
	var held int
	if err := b.srv.Pool.QueryRow(ctx, `SELECT count(*) FROM message_status_early`).Scan(&held); err != nil || held != 0 {
		t.Errorf("%d malformed callbacks held (%v)", held, err)
	}
}

// TestWebhookDatabaseDown: when the message cannot be stored the answer is
// 503 (Twilio then tries the fallback URL), never a 200 for a lost message.
func TestWebhookDatabaseDown(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	dead, err := pgxpool.New(context.Background(), "postgres://nobody:x@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	live := b.srv.Conversation.Pool
	b.srv.Conversation.Pool = dead
	p := inbound("+966551234599", "انقطاع الكهرباء")
	if status, body := b.webhook(t, "/twilio/sms", p); status != http.StatusServiceUnavailable || strings.Contains(body, "QS-") {
		t.Fatalf("database down: %d %s, want 503", status, body)
	}
	b.srv.Conversation.Pool = live
	if n := b.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored while the database was down", n)
	}
	// Twilio retries (or the fallback replays) the same message later: it is taken in.
	if status, body := b.webhook(t, "/twilio/sms", p); status != 200 || !strings.Contains(body, "QS-") {
		t.Fatalf("after recovery: %d %s", status, body)
	}
}

// TestKeywordDoesNotChangeLanguage: an Arabic-speaking resident who texts
// the standard Latin STOP and START keywords is answered in Arabic, the
// resident's language, which the keywords leave as it was.
func TestKeywordDoesNotChangeLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	from := "+966551234568"
	b.webhook(t, "/twilio/sms", inbound(from, "حفرة كبيرة في طريق الملك عبدالعزيز"))
	if _, xml := b.webhook(t, "/twilio/sms", inbound(from, "STOP")); !strings.Contains(xml, "أوقفنا رسائل البلدية") {
		t.Fatalf("STOP: %s", xml)
	}
	if _, xml := b.webhook(t, "/twilio/sms", inbound(from, "START")); !strings.Contains(xml, "عادت رسائل البلدية") {
		t.Fatalf("START: %s", xml)
	}
	if n := b.count(t, `SELECT count(*) FROM contacts WHERE phone = $1 AND language = 'ar'`, from); n != 1 {
		t.Fatal("keywords changed the resident's language")
	}
	if _, xml := b.webhook(t, "/twilio/sms", inbound(from, "١٢٣")); !strings.Contains(xml, "أضفنا رسالتك") && !strings.Contains(xml, "استلمنا") {
		t.Fatalf("a message without letters after the keywords should be answered in Arabic: %s", xml)
	}
}
