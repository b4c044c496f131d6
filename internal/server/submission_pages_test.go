package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"tawasul/internal/tawasul"
)

// signedIn adds a user with role (department users work for roads) and
// returns a client signed in as them.
func (b *testBundle) signedIn(t *testing.T, role tawasul.Role) *http.Client {
	t.Helper()
	email := string(role) + "@example.org"
	b.addUser(t, email, role)
	c := b.client(t)
	b.signIn(t, c, email)
	return c
}

// route puts a submission in a department, as routing will.
func (b *testBundle) route(t *testing.T, ref, dept string) {
	t.Helper()
	_, err := b.srv.Pool.Exec(context.Background(), `UPDATE submissions
		SET department_id = (SELECT id FROM departments WHERE code = $2), status = 'routed' WHERE reference = $1`, ref, dept)
	if err != nil {
		t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s shows %q", what, w)
		}
	}
}

func TestSubmissionListPage(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	water := b.smsSubmission(t, "+966551234567", "انقطاع المآء في حي النسيم")
	idea := b.smsSubmission(t, "+966502222222", "اقتراح: زيادة الإنارة في الممشى")
	c := b.signedIn(t, tawasul.RoleAgent)

	res, body := b.get(t, c, "/submissions")
	if res.StatusCode != 200 {
		t.Fatalf("list: %d", res.StatusCode)
	}
	mustContain(t, "Arabic list", body, `<html lang="ar" dir="rtl">`, "<title>البلاغات", water, idea,
		"جديد", "شكوى", "اقتراح", "رسالة نصية", "انقطاع المآء في حي النسيم", `href="/submissions/`+water+`"`,
		`name="status"`, `name="kind"`, `name="channel"`, `name="since"`, `name="until"`, `name="q"`, " هـ — ")
	mustNotContain(t, "list", body, "[status.", "[kind.", "[channel.", "[submissions.", "551234567")
	if strings.Index(body, idea) > strings.Index(body, water) {
		t.Error("list is not newest first")
	}
	if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control %q", got)
	}

	_, body = b.get(t, c, "/submissions?lang=en")
	mustContain(t, "English list", body, `<html lang="en" dir="ltr">`, "<title>Submissions", "New", "Complaint",
		"Suggestion", "SMS", " AH — ", "Text contains")

	// Filters, with Arabic letter variants in the text search.
	_, body = b.get(t, c, "/submissions?kind=suggestion")
	mustContain(t, "kind filter", body, idea, `<option value="suggestion" selected>`)
	mustNotContain(t, "kind filter", body, water)
	_, body = b.get(t, c, "/submissions?q="+url.QueryEscape("الماء"))
	mustContain(t, "text search", body, water, "الماء")
	mustNotContain(t, "text search", body, idea)
	_, body = b.get(t, c, "/submissions?status=closed&lang=en")
	mustContain(t, "empty result", body, "No submissions match")

	// Bad filter values: 400 with a translated message, the form kept.
	for _, tc := range []struct{ query, ar, en string }{
		{"status=bogus", "حالة غير معروفة", "Unknown status"},
		{"kind=rumour", "نوع بلاغ غير معروف", "Unknown submission type"},
		{"since=not-a-date", "التاريخ غير صحيح", "The date is not valid"},
		{"since=2026-05-01&until=2026-04-01", "يجب أن يسبق تاريخ البداية", "The start date must come before"},
		{"cursor=garbage", "رابط الصفحة غير صالح", "The page link is not valid"},
	} {
		res, body := b.get(t, c, "/submissions?lang=ar&"+tc.query)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.query, res.StatusCode)
		}
		mustContain(t, tc.query, body, tc.ar, `name="status"`)
		mustNotContain(t, tc.query, body, water)
		_, body = b.get(t, c, "/submissions?lang=en&"+tc.query)
		mustContain(t, tc.query+" in English", body, tc.en)
	}

	// Pages: the next-page link carries the cursor and the filters.
	third := b.smsSubmission(t, "+966503333333", "بلاغ ثالث")
	_, body = b.get(t, c, "/submissions?limit=2&status=new&lang=ar")
	mustContain(t, "page 1", body, third, idea)
	mustNotContain(t, "page 1", body, `href="/submissions/`+water+`"`, "الصفحة الأولى")
	next := regexp.MustCompile(`href="(/submissions\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatalf("no next-page link:\n%s", body)
	}
	nextURL := strings.ReplaceAll(next[1], "&amp;", "&")
	mustContain(t, "next link", nextURL, "status=new", "limit=2")
	mustNotContain(t, "next link", nextURL, "lang=") // the language stays the reader's choice
	_, body = b.get(t, c, nextURL)
	mustContain(t, "page 2", body, water, "الصفحة الأولى")
	mustNotContain(t, "page 2", body, `href="/submissions/`+idea+`"`, `rel="next"`)
}

func TestSubmissionPageTimelineAndPhone(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ref := b.smsSubmission(t, "0551234567", "حفرة كبيرة في شارع الملك فهد")
	if status, _ := b.webhook(t, "/twilio/sms", inbound("+966551234567", "بجانب المسجد")); status != 200 {
		t.Fatal(status)
	}
	// A failed delivery with Twilio's error code.
	_, err := b.srv.Pool.Exec(context.Background(), `INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, error_code, created_at)
		SELECT contact_id, id, 'outbound', 'sms', 'تم إصلاح الحفرة', 'undelivered', 30003, now() + interval '1 minute'
		FROM submissions WHERE reference = $1`, ref)
	if err != nil {
		t.Fatal(err)
	}
	phoneForms := []string{"+966551234567", "+966 55 123 4567", "551234567", "55 123 4567"}

	agent := b.signedIn(t, tawasul.RoleAgent)
	res, body := b.get(t, agent, "/submissions/"+ref)
	if res.StatusCode != 200 {
		t.Fatalf("agent: %d", res.StatusCode)
	}
	mustContain(t, "Arabic submission page", body, `dir="rtl"`, ref, "هاتف المواطن", "&#43;966 55 123 4567",
		"حفرة كبيرة في شارع الملك فهد\nبجانب المسجد", // the body with its follow-up detail
		"استلام البلاغ", "رسالة من المواطن", "رسالة إلى المواطن", "أضاف المواطن تفاصيل", "استلمنا بلاغك رقم "+ref,
		"أضفنا رسالتك", "تم إصلاح الحفرة", "لم تصل", "رمز الخطأ 30003: تعذر الوصول إلى الجوال (مغلق أو خارج التغطية)", "رد فوري", "مستلمة", "لم يُحل إلى إدارة بعد", " هـ — ")
	mustNotContain(t, "Arabic submission page", body, "[timeline.", "[delivery.", "[submissions.", "[status.")
	if strings.Index(body, "استلام البلاغ") > strings.Index(body, "أضاف المواطن تفاصيل") ||
		strings.Index(body, "أضاف المواطن تفاصيل") > strings.Index(body, "تم إصلاح الحفرة") {
		t.Error("timeline is not in time order")
	}
	_, body = b.get(t, agent, "/submissions/"+ref+"?lang=en")
	mustContain(t, "English submission page", body, `dir="ltr"`, "Resident&#39;s phone", "&#43;966 55 123 4567",
		"Submission received", "Message from the resident", "To the resident", "not delivered", "error 30003: the phone could not be reached (switched off or out of coverage)", "Complaint", "New")

	// Roles that may not see personal data get no phone, in any form.
	mod := b.signedIn(t, tawasul.RoleModerator)
	for _, lang := range []string{"ar", "en"} {
		res, body := b.get(t, mod, "/submissions/"+ref+"?lang="+lang)
		if res.StatusCode != 200 {
			t.Fatalf("moderator: %d", res.StatusCode)
		}
		mustContain(t, "moderator page", body, ref, "حفرة كبيرة")
		mustNotContain(t, "moderator page ("+lang+")", body, append(phoneForms, "هاتف المواطن", "Resident&#39;s phone")...)
	}

	// Unknown reference: 404 page in both languages.
	res, body = b.get(t, agent, "/submissions/QS-99-9999?lang=ar")
	if res.StatusCode != 404 {
		t.Errorf("unknown reference: %d", res.StatusCode)
	}
	mustContain(t, "404", body, "لا يوجد بلاغ بهذا الرقم")
	_, body = b.get(t, agent, "/submissions/QS-99-9999?lang=en")
	mustContain(t, "English 404", body, "There is no submission with this reference")
}

func TestSubmissionPagesDepartmentScope(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	roads := b.smsSubmission(t, "+966551111111", "حفرة في الطريق")
	water := b.smsSubmission(t, "+966552222222", "تسرب مياه")
	unrouted := b.smsSubmission(t, "+966553333333", "سؤال عام")
	b.route(t, roads, "roads")
	b.route(t, water, "water")

	dept := b.signedIn(t, tawasul.RoleDepartment) // works for roads
	res, body := b.get(t, dept, "/submissions")
	if res.StatusCode != 200 {
		t.Fatalf("department list: %d", res.StatusCode)
	}
	// Departments are named in the reader's language, not by their code.
	mustContain(t, "department list", body, roads, "(الطرق والأرصفة)", "محال")
	mustNotContain(t, "department list", body, water, unrouted)
	if res, body := b.get(t, dept, "/submissions/"+roads); res.StatusCode != 200 || !strings.Contains(body, "966 55 111 1111") ||
		!strings.Contains(body, "الطرق والأرصفة") {
		t.Errorf("own department's submission: %d", res.StatusCode)
	}
	if _, body := b.get(t, dept, "/submissions/"+roads+"?lang=en"); !strings.Contains(body, "Roads and pavements") {
		t.Error("the English page does not name the department in English")
	}
	_, body = b.get(t, dept, "/") // in English now: the choice is kept
	mustContain(t, "department home", body, "Your department: Roads and pavements")
	for _, ref := range []string{water, unrouted} {
		if res, _ := b.get(t, dept, "/submissions/"+ref); res.StatusCode != 404 {
			t.Errorf("department user opened %s: %d, want 404", ref, res.StatusCode)
		}
	}

	// A supervisor sees every department's; a coordinator none.
	sup := b.signedIn(t, tawasul.RoleSupervisor)
	_, body = b.get(t, sup, "/submissions")
	mustContain(t, "supervisor list", body, roads, water, unrouted)
	coord := b.signedIn(t, tawasul.RoleCoordinator)
	if res, _ := b.get(t, coord, "/submissions"); res.StatusCode != 403 {
		t.Errorf("coordinator: %d, want 403", res.StatusCode)
	}
	// The home page links to the list for readers only.
	_, body = b.get(t, sup, "/")
	mustContain(t, "supervisor home", body, `href="/submissions"`)
	_, body = b.get(t, coord, "/")
	mustNotContain(t, "coordinator home", body, `href="/submissions"`)
}

func TestSubmissionPagesPhoneFilterNeedsPersonalData(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ref := b.smsSubmission(t, "+966551234567", "بلاغ")
	other := b.smsSubmission(t, "+966559876543", "بلاغ آخر")
	agent := b.signedIn(t, tawasul.RoleAgent)
	// The number is posted and kept in the session, never put in a URL.
	res := b.postForm(t, agent, "/submissions/by-phone", url.Values{"phone": {"٠٥٥١٢٣٤٥٦٧"}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || strings.Contains(loc, "55") {
		t.Fatalf("lookup: %d %q", res.StatusCode, loc)
	}
	_, body := b.get(t, agent, res.Header.Get("Location"))
	mustContain(t, "phone filter", body, ref)
	mustNotContain(t, "phone filter", body, other)
	if regexp.MustCompile(`(href|action|hx-get)="[^"]*(5512|%2B966)`).MatchString(body) {
		t.Error("a link on the page carries the number")
	}
	// Filtering further keeps the number: the filter form carries by_phone,
	// also on the page that refuses a bad filter.
	mustContain(t, "filter form", body, `<input type="hidden" name="by_phone" value="1">`)
	_, body = b.get(t, agent, "/submissions?by_phone=1&status=new")
	mustContain(t, "phone and status filter", body, ref)
	mustNotContain(t, "phone and status filter", body, other)
	res, body = b.get(t, agent, "/submissions?by_phone=1&since=bogus")
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad filter after a lookup: %d, want 400", res.StatusCode)
	}
	mustContain(t, "bad filter after a lookup", body, `<input type="hidden" name="by_phone" value="1">`, "966 55 123 4567")
	// A mistyped number: the reason, the number as typed, no results.
	res = b.postForm(t, agent, "/submissions/by-phone", url.Values{"phone": {"05512"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("mistyped number: %d, want 400", res.StatusCode)
	}
	body = readBody(t, res)
	mustContain(t, "mistyped number", body, `id="submissions-error"`, `value="05512"`)
	mustNotContain(t, "mistyped number", body, ref, other)
	if res, _ := b.get(t, agent, "/submissions?phone=0551234567"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("phone in the address: %d, want 400", res.StatusCode)
	}
	mod := b.signedIn(t, tawasul.RoleModerator)
	if res, body := b.get(t, mod, "/submissions?phone=0551234567"); res.StatusCode != 403 || strings.Contains(body, ref) {
		t.Errorf("moderator phone filter: %d", res.StatusCode)
	}
	if res := b.postForm(t, mod, "/submissions/by-phone", url.Values{"phone": {"0551234567"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("moderator lookup: %d", res.StatusCode)
	}
}

// TestFindSubmissionByReference: staff type in the reference a resident
// reads out, however they type it, and land on the submission; a
// department user only on one of their department's.
func TestFindSubmissionByReference(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ref := b.smsSubmission(t, "+966551234567", "انقطاع المياه في حي النسيم")
	other := b.smsSubmission(t, "+966552222222", "تسرب مياه")
	b.route(t, ref, "roads")
	// As typed: lower case, Arabic-Indic digits, spaces or another dash.
	arabicDigits := strings.NewReplacer("0", "٠", "1", "١", "2", "٢", "3", "٣", "6", "٦").Replace(ref)
	typed := []string{ref, strings.ToLower(ref), " " + arabicDigits + " ", strings.ReplaceAll(strings.ToLower(ref), "-", " "),
		strings.ReplaceAll(ref, "-", "–")}

	agent := b.signedIn(t, tawasul.RoleAgent)
	for _, q := range typed {
		res, _ := b.get(t, agent, "/submissions?q="+url.QueryEscape(q))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/submissions/"+ref {
			t.Errorf("search %q: %d to %q, want 303 to the submission", q, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// Any other spelling of its address moves to the submission's one
	// address, with the query kept.
	for _, path := range []string{url.PathEscape(arabicDigits), strings.ToLower(ref)} {
		res, _ := b.get(t, agent, "/submissions/"+path+"?lang=en")
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/submissions/"+ref+"?lang=en" {
			t.Errorf("page at /submissions/%s: %d to %q, want 301 to /submissions/%s?lang=en", path, res.StatusCode, res.Header.Get("Location"), ref)
		}
	}
	if res, body := b.get(t, agent, "/submissions/"+ref); res.StatusCode != 200 || !strings.Contains(body, ref) {
		t.Errorf("page at its own address: %d", res.StatusCode)
	}
	// A reference that does not exist is searched for as text.
	if res, _ := b.get(t, agent, "/submissions?q=QS-26-9999"); res.StatusCode != 200 {
		t.Errorf("unknown reference: %d, want the list", res.StatusCode)
	}
	// The API reads the reference the same way, however the address is
	// encoded (here with spaces, and in lower-case hex as curl users type).
	tok, _ := b.apiToken(t, tawasul.RoleAgent)
	for _, path := range []string{url.PathEscape(strings.ToLower(arabicDigits)),
		strings.ToLower(url.PathEscape(strings.ReplaceAll(arabicDigits, "-", " ")))} {
		if res, body := b.apiGet(t, tok, "/api/v1/submissions/"+path); res.StatusCode != 200 ||
			!strings.Contains(string(body), `"reference":"`+ref+`"`) {
			t.Errorf("API at %s: %d %s", path, res.StatusCode, body)
		}
	}

	// A department user finds their department's submission, and another
	// reference only as text: nothing tells them it exists.
	dept := b.signedIn(t, tawasul.RoleDepartment) // works for roads
	if res, _ := b.get(t, dept, "/submissions?q="+ref); res.StatusCode != http.StatusSeeOther {
		t.Errorf("department user, own reference: %d, want 303", res.StatusCode)
	}
	if res, body := b.get(t, dept, "/submissions?q="+other); res.StatusCode != 200 || strings.Contains(body, other+"<") {
		t.Errorf("department user, another department's reference: %d", res.StatusCode)
	}
}
