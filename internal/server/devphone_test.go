package server_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
)

// setupDevPhone starts a server in simulator mode and signs an agent in.
func setupDevPhone(t *testing.T) (*testBundle, *http.Client) {
	t.Helper()
	sim := twiliofake.New(twiliofake.Options{AccountSID: twiliofake.NewSID("AC"), AuthToken: testAuthToken})
	t.Cleanup(func() { _ = sim.Close() })
	b := setup(t, &setupOpts{simulator: sim})
	b.addUser(t, "agent@example.org", tawasul.RoleAgent)
	c := b.client(t)
	b.signIn(t, c, "agent@example.org")
	return b, c
}

// devPhonePost posts the pretend phone's form as a same-origin browser would
// and returns the response, its body read.
func (b *testBundle) devPhonePost(t *testing.T, c *http.Client, form url.Values) (*http.Response, string) {
	t.Helper()
	res := b.postForm(t, c, "/dev/phone", form, "Sec-Fetch-Site", "same-origin", "Origin", b.ts.URL)
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// devPhoneGet gets path and returns its status and body, with HTML character
// references decoded (html/template writes "+" as "&#43;").
func (b *testBundle) devPhoneGet(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	res, body := b.get(t, c, path)
	return res.StatusCode, html.UnescapeString(body)
}

// devPhoneSend texts body from number over SMS and returns the page shown
// after the redirect.
func (b *testBundle) devPhoneSend(t *testing.T, c *http.Client, number, channel, body string) string {
	t.Helper()
	res, _ := b.devPhonePost(t, c, url.Values{"phone": {number}, "channel": {channel}, "body": {body}, "action": {"send"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dev/phone" {
		t.Fatalf("send %q: %d %q, want 303 to /dev/phone", body, res.StatusCode, res.Header.Get("Location"))
	}
	status, page := b.devPhoneGet(t, c, "/dev/phone")
	if status != http.StatusOK {
		t.Fatalf("page after sending: %d", status)
	}
	return page
}

// answerOf returns the text of the "Tawasul's answer" box of page.
func answerOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section class="devphone-answer.*?</section>`).FindString(page)
	if m == "" {
		t.Fatal("the page shows no answer")
	}
	return m
}

var refRe = regexp.MustCompile(`QS-\d{2}-\d{4}`)

// The scenario: a newcomer texts a report from 0551234567, gets an
// Arabic answer with a reference, texts STOP, and is sent nothing more.
func TestDevPhoneScenario(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)

	res, page := b.get(t, c, "/dev/phone")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `dir="rtl"`) || !strings.Contains(page, "الهاتف التجريبي") {
		t.Fatalf("page: %d, want the Arabic pretend phone", res.StatusCode)
	}
	if !strings.Contains(page, `devphone-banner" role="note"`) || !strings.Contains(page, "محاكاة") {
		t.Error("the page is not marked as a simulator")
	}
	if !strings.Contains(page, "اختر رقماً أو اكتبه لعرض محادثته") {
		t.Error("no number selected yet, but the page does not say so")
	}

	page = b.devPhoneSend(t, c, "0551234567", "sms", "انقطاع المياه في حي النسيم")
	answer := answerOf(t, page)
	ref := refRe.FindString(answer)
	if !strings.Contains(answer, "استلمنا بلاغك رقم") || ref == "" || !strings.Contains(answer, `dir="auto"`) {
		t.Fatalf("answer %q, want the Arabic acknowledgement with a reference", answer)
	}
	if n := b.count(t, `SELECT count(*) FROM submissions s JOIN contacts c ON c.id = s.contact_id
		WHERE c.phone = '+966551234567' AND s.reference = $1 AND s.body = 'انقطاع المياه في حي النسيم'`, ref); n != 1 {
		t.Errorf("%d submissions %s for +966551234567, want 1", n, ref)
	}
	// The answer is shown once; a reload does not send again.
	if _, again := b.get(t, c, "/dev/phone"); strings.Contains(again, `class="devphone-answer`) {
		t.Error("the answer is shown again after a reload")
	}

	res, thread := b.get(t, c, "/dev/phone/thread")
	if res.StatusCode != http.StatusOK || strings.Contains(thread, "<html") {
		t.Fatalf("thread fragment: %d, want 200 without the layout", res.StatusCode)
	}
	in, out := strings.Index(thread, "انقطاع المياه في حي النسيم"), strings.Index(thread, "استلمنا بلاغك رقم "+ref)
	if in < 0 || out < in {
		t.Errorf("thread does not show the text and then the answer:\n%s", thread)
	}
	if !strings.Contains(thread, `hx-trigger="every 2s"`) || !strings.Contains(thread, `hx-get="/dev/phone/thread"`) {
		t.Error("the thread does not poll itself")
	}
	if !strings.Contains(thread, "المواطن") || !strings.Contains(thread, "رد فوري") {
		t.Error("thread lacks the Arabic sender and status labels")
	}

	page = b.devPhoneSend(t, c, "0551234567", "sms", "STOP")
	answer = answerOf(t, page)
	if !strings.Contains(answer, "You will get no more messages") && !strings.Contains(answer, "أوقفنا رسائل البلدية") {
		t.Fatalf("STOP answer %q, want the opt-out confirmation", answer)
	}
	page = b.devPhoneSend(t, c, "0551234567", "sms", "الماء ما زال مقطوعاً")
	if answer := answerOf(t, page); !strings.Contains(answer, "لم يرد تواصل على هذه الرسالة") || strings.Contains(answer, "QS-") {
		t.Errorf("opted-out contact was answered: %q", answer)
	}
	if !strings.Contains(page, "أوقف هذا الرقم الرسائل") {
		t.Error("the thread does not say the number opted out")
	}
	if n := b.count(t, `SELECT count(*) FROM messages m JOIN contacts c ON c.id = m.contact_id
		WHERE c.phone = '+966551234567' AND m.direction = 'outbound'`); n != 2 {
		t.Errorf("%d outbound messages, want 2 (acknowledgement and opt-out confirmation)", n)
	}
}

func TestDevPhoneEnglishAndWhatsApp(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)
	_, page := b.devPhoneGet(t, c, "/dev/phone?lang=en")
	for _, want := range []string{`dir="ltr"`, "Pretend phone (simulator)", "Phone number", "Use this number", "Send",
		"Ready-made numbers", "WhatsApp", "+966 55 123 4567"} {
		if !strings.Contains(page, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	// Arabic-Indic digits are accepted; the channel is remembered.
	page = b.devPhoneSend(t, c, "٠٥٠١١١٢٢٣٣", "whatsapp", "Street light broken on King Fahd Road")
	if answer := answerOf(t, page); !strings.Contains(answer, "We received your message, reference QS-") {
		t.Errorf("English answer %q", answer)
	}
	if !strings.Contains(page, `value="whatsapp" checked`) || !strings.Contains(page, "+966 50 111 2233") {
		t.Error("the selected number and channel are not kept")
	}
	if n := b.count(t, `SELECT count(*) FROM messages m JOIN contacts c ON c.id = m.contact_id
		WHERE c.phone = '+966501112233' AND m.channel = 'whatsapp' AND m.direction = 'inbound'`); n != 1 {
		t.Errorf("%d inbound WhatsApp messages from +966501112233, want 1", n)
	}
	_, thread := b.get(t, c, "/dev/phone/thread")
	for _, want := range []string{"Resident", "Tawasul", "WhatsApp", "immediate reply", "Street light broken"} {
		if !strings.Contains(thread, want) {
			t.Errorf("English thread lacks %q", want)
		}
	}
}

func TestDevPhoneSelectNumber(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)
	res, _ := b.devPhonePost(t, c, url.Values{"phone": {"+966569876543"}, "action": {"select"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("select: %d, want 303", res.StatusCode)
	}
	_, page := b.devPhoneGet(t, c, "/dev/phone")
	if !strings.Contains(page, `value="+966 56 987 6543"`) || !strings.Contains(page, "لا رسائل لهذا الرقم بعد") {
		t.Error("the selected number is not shown with its (empty) thread")
	}
	if n := b.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("selecting a number stored %d messages", n)
	}
}

func TestDevPhoneInvalidInput(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)
	cases := []struct {
		form url.Values
		want string
	}{
		{url.Values{"phone": {"12345"}, "body": {"مرحبا"}, "action": {"send"}}, "رقم الهاتف غير صحيح"},
		{url.Values{"phone": {"call me"}, "action": {"select"}}, "رقم الهاتف غير صحيح"},
		{url.Values{"phone": {""}, "body": {"مرحبا"}}, "رقم الهاتف غير صحيح"},
		{url.Values{"phone": {"0551234567"}, "body": {"   "}, "action": {"send"}}, "اكتب نص الرسالة"},
		{url.Values{"phone": {"0551234567"}, "body": {strings.Repeat("م", 1601)}, "action": {"send"}}, "أطول من 1600 حرف"},
	}
	for _, tc := range cases {
		res, body := b.devPhonePost(t, c, tc.form)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) || !strings.Contains(body, `id="devphone-error"`) {
			t.Errorf("%v: %d, want 400 with %q in the form", tc.form, res.StatusCode, tc.want)
		}
	}
	b.get(t, c, "/dev/phone?lang=en")
	if _, body := b.devPhonePost(t, c, url.Values{"phone": {"12345"}, "body": {"hello"}}); !strings.Contains(body, "That phone number is not valid") {
		t.Error("the error is not translated into English")
	}
	if n := b.count(t, `SELECT count(*) FROM messages`) + b.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("invalid input stored %d rows", n)
	}
	if _, page := b.get(t, c, "/dev/phone"); !strings.Contains(page, "Pick or type a number to see its thread") {
		t.Error("an invalid submission changed the selected number")
	}
}

// TestDevPhoneNotForDepartments: the pretend phone shows a number's whole
// thread, across departments; a department user, who may not open another
// department's submissions, may not open it either, nor see its link.
func TestDevPhoneNotForDepartments(t *testing.T) {
	t.Parallel()
	b, _ := setupDevPhone(t)
	dept := b.signedIn(t, tawasul.RoleDepartment)
	for _, path := range []string{"/dev/phone", "/dev/phone/thread"} {
		if res, _ := b.get(t, dept, path); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a department user: %d, want 403", path, res.StatusCode)
		}
	}
	res := b.postForm(t, dept, "/dev/phone", url.Values{"phone": {"0551234567"}, "action": {"select"}},
		"Sec-Fetch-Site", "same-origin", "Origin", b.ts.URL)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST /dev/phone as a department user: %d, want 403", res.StatusCode)
	}
	if _, home := b.get(t, dept, "/"); strings.Contains(home, `href="/dev/phone"`) {
		t.Error("the home page offers the pretend phone to a department user")
	}
}

func TestDevPhoneAbsentWithRealTwilio(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.addUser(t, "admin@example.org", tawasul.RoleAdmin)
	c := b.client(t)
	b.signIn(t, c, "admin@example.org")
	for _, path := range []string{"/dev/phone", "/dev/phone/thread"} {
		if res, _ := b.get(t, c, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without a simulator: %d, want 404", path, res.StatusCode)
		}
	}
	if res, _ := b.devPhonePost(t, c, url.Values{"phone": {"0551234567"}, "body": {"x"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /dev/phone without a simulator: %d, want 404", res.StatusCode)
	}
	if _, home := b.get(t, c, "/"); strings.Contains(home, "/dev/phone") {
		t.Error("home links to /dev/phone without a simulator")
	}

	b2, c2 := setupDevPhone(t)
	if _, home := b2.get(t, c2, "/"); !strings.Contains(home, `href="/dev/phone"`) {
		t.Error("home does not link to /dev/phone in simulator mode")
	}
}

func TestDevPhoneCrossSiteRefused(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)
	form := url.Values{"phone": {"0551234567"}, "body": {"انقطاع المياه في حي النسيم"}, "action": {"send"}}
	res := b.postForm(t, c, "/dev/phone", form, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "جاء من موقع آخر") {
		t.Fatalf("cross-site POST: %d, want 403 with an explanation", res.StatusCode)
	}
	if n := b.count(t, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("a cross-site POST stored %d messages", n)
	}
	// Anonymous POSTs are refused too.
	if res, _ := b.devPhonePost(t, b.client(t), form); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d, want 401", res.StatusCode)
	}
}

// The resident's number is personal data: it stays in the session and the
// form bodies, never in a URL the pages generate (access logs, Referer,
// browser history).
func TestDevPhoneNumberNeverInURL(t *testing.T) {
	t.Parallel()
	b, c := setupDevPhone(t)
	res, _ := b.devPhonePost(t, c, url.Values{"phone": {"0551234567"}, "action": {"select"}})
	if loc := res.Header.Get("Location"); strings.Contains(loc, "551234567") {
		t.Errorf("redirect to %q", loc)
	}
	page := b.devPhoneSend(t, c, "0551234567", "sms", "حفرة في الشارع")
	if !strings.Contains(page, "+966 55 123 4567") {
		t.Fatal("the page does not show the selected number: the check below would prove nothing")
	}
	_, thread := b.devPhoneGet(t, c, "/dev/phone/thread")
	_, english := b.devPhoneGet(t, c, "/dev/phone?lang=en")
	urlAttr := regexp.MustCompile(`(?i)\b(?:href|src|action|formaction|hx-get|hx-post|hx-put|hx-delete|hx-patch)="([^"]*)"`)
	digits := regexp.MustCompile(`[^0-9]`)
	for _, doc := range []string{page, thread, english} {
		for _, m := range urlAttr.FindAllStringSubmatch(doc, -1) {
			if strings.Contains(digits.ReplaceAllString(m[1], ""), "551234567") {
				t.Errorf("URL %q carries the phone number", m[1])
			}
		}
	}
}

// TestDevPhoneSamplePhoto: the pretend phone can attach a sample photo, as
// Twilio posts a WhatsApp picture (an MM SID, MediaUrl0 on the simulator);
// a photo needs no text. The thread says a file was attached, and staff
// open the picture from the submission's page.
func TestDevPhoneSamplePhoto(t *testing.T) {
	t.Parallel()
	account := twiliofake.NewSID("AC")
	sim := twiliofake.New(twiliofake.Options{AccountSID: account, AuthToken: testAuthToken})
	base, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	rest, err := twiliorest.New(twiliorest.Config{AccountSID: account, AuthToken: testAuthToken, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, &setupOpts{simulator: sim, twilio: rest})
	b.addUser(t, "agent@example.org", tawasul.RoleAgent)
	c := b.client(t)
	b.signIn(t, c, "agent@example.org")

	// Without the photo, an empty text is refused (and the box stays ticked after another error).
	if res, _ := b.devPhonePost(t, c, url.Values{"phone": {"0551234567"}, "channel": {"whatsapp"}, "body": {""}, "action": {"send"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty text without a photo: %d, want 400", res.StatusCode)
	}
	if _, page := b.devPhonePost(t, c, url.Values{"phone": {"12"}, "body": {""}, "photo": {"1"}, "action": {"send"}}); !strings.Contains(page, `value="1" id="devphone-photo" checked`) {
		t.Error("the photo box is not kept ticked after an error")
	}
	res, _ := b.devPhonePost(t, c, url.Values{"phone": {"0551234567"}, "channel": {"whatsapp"}, "body": {""}, "photo": {"1"}, "action": {"send"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("photo without text: %d, want 303", res.StatusCode)
	}
	_, page := b.devPhoneGet(t, c, "/dev/phone")
	ref := regexp.MustCompile(`QS-\d\d-\d{4}`).FindString(answerOf(t, page))
	if ref == "" || !strings.Contains(page, "📎") {
		t.Fatalf("after the photo: answer %q, thread %s", answerOf(t, page), page)
	}
	if n := b.count(t, `SELECT count(*) FROM message_media mm JOIN messages m ON m.id = mm.message_id
		WHERE m.twilio_sid LIKE 'MM%' AND mm.content_type = 'image/png'`); n != 1 {
		t.Fatalf("%d stored attachments, want 1", n)
	}
	_, view := b.get(t, c, "/submissions/"+ref)
	link := regexp.MustCompile(`/submissions/` + ref + `/media/\d+/0`).FindString(view)
	if res, body := b.get(t, c, link); link == "" || res.StatusCode != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("the sample photo from the submission's page: %q %d", link, res.StatusCode)
	}
}
