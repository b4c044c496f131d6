package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"tawasul/internal/auth"
	"tawasul/internal/server"
	"tawasul/internal/tawasul"
)

// smsSubmission texts body from phone through the signed webhook, as a
// resident would, and returns the reference of the submission it made.
func (b *testBundle) smsSubmission(t *testing.T, from, body string) string {
	t.Helper()
	status, xml := b.webhook(t, "/twilio/sms", inbound(from, body))
	i := strings.Index(xml, "QS-")
	if status != http.StatusOK || i < 0 {
		t.Fatalf("webhook for %q: %d %s", body, status, xml)
	}
	ref := xml[i:]
	if j := strings.IndexFunc(ref, func(r rune) bool { return r != '-' && (r < '0' || r > '9') && (r < 'A' || r > 'Z') }); j > 0 {
		ref = ref[:j]
	}
	return strings.TrimRight(ref, "-")
}

// apiToken creates an API token with role, as `tawasul token add` does, and
// returns it.
func (b *testBundle) apiToken(t *testing.T, role tawasul.Role) (string, *tawasul.APIToken) {
	t.Helper()
	tok, hash, prefix := auth.NewToken()
	at, err := b.store.APITokenInsert(context.Background(), "test "+string(role), role, hash, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return tok, at
}

// apiGet sends GET path with the bearer token ("" for none) and returns the
// response and its body.
func (b *testBundle) apiGet(t *testing.T, token, path string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", b.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantAPIError checks that res is a JSON error with status and code, in
// exactly the documented shape, and returns its message.
func wantAPIError(t *testing.T, what string, res *http.Response, body []byte, status int, code string) string {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s: status %d, want %d (%s)", what, res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || len(raw["error"]) != 2 {
		t.Errorf("%s: body is not {\"error\":{\"code\",\"message\"}}: %s", what, body)
	}
	var e apiErr
	_ = json.Unmarshal(body, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: error %+v, want code %q with a message", what, e.Error, code)
	}
	return e.Error.Message
}

type apiSubmission struct {
	Reference  string    `json:"reference"`
	Channel    string    `json:"channel"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Body       string    `json:"body"`
	Language   string    `json:"language"`
	Department *string   `json:"department"`
	Phone      string    `json:"phone"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Timeline   []struct {
		At      time.Time `json:"at"`
		Kind    string    `json:"kind"`
		Message *struct {
			Direction string  `json:"direction"`
			Channel   string  `json:"channel"`
			Body      string  `json:"body"`
			Status    string  `json:"status"`
			TwilioSID *string `json:"twilio_sid"`
			ErrorCode *int    `json:"error_code"`
		} `json:"message"`
	} `json:"timeline"`
}

type apiSubmissionList struct {
	Data       []apiSubmission `json:"data"`
	NextCursor *string         `json:"next_cursor"`
}

// listRefs gets path and returns the references it lists, sorted.
func (b *testBundle) listRefs(t *testing.T, token, path string) []string {
	t.Helper()
	res, body := b.apiGet(t, token, path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", path, res.StatusCode, body)
	}
	var l apiSubmissionList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, s := range l.Data {
		refs = append(refs, s.Reference)
	}
	slices.Sort(refs)
	return refs
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	good, _ := b.apiToken(t, tawasul.RoleAgent)
	revoked, rt := b.apiToken(t, tawasul.RoleAdmin)
	if err := b.store.APITokenRevoke(context.Background(), rt.ID); err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := auth.NewToken() // well-formed, never stored

	res, body := b.apiGet(t, "", "/api/v1/submissions")
	wantAPIError(t, "no token", res, body, 401, "unauthorized")
	if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Errorf("no token: WWW-Authenticate %q", h)
	}
	for name, tok := range map[string]string{"unknown": fresh, "revoked": revoked, "not a tws_ token": "abc123",
		"empty": " "} {
		res, body := b.apiGet(t, tok, "/api/v1/submissions")
		wantAPIError(t, name, res, body, 401, "unauthorized")
		if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, "invalid_token") {
			t.Errorf("%s: WWW-Authenticate %q", name, h)
		}
	}
	// Another scheme is no token.
	req, _ := http.NewRequest("GET", b.ts.URL+"/api/v1/submissions", nil)
	req.SetBasicAuth("agent", good)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	wantAPIError(t, "basic auth", res2, body2, 401, "unauthorized")

	// A session cookie is no substitute for a token.
	b.addUser(t, "admin@example.org", tawasul.RoleAdmin)
	c := b.client(t)
	b.signIn(t, c, "admin@example.org")
	if res, _ := b.get(t, c, "/api/v1/submissions"); res.StatusCode != 401 {
		t.Errorf("signed-in browser without a token: %d, want 401", res.StatusCode)
	}

	res, body = b.apiGet(t, good, "/api/v1/submissions")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"data":[],"next_cursor":null}` {
		t.Errorf("good token: %d %s", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	tokens, _ := b.store.APITokenList(context.Background())
	for _, tk := range tokens {
		if tk.Role == tawasul.RoleAgent && tk.LastUsedAt == nil {
			t.Error("token use not recorded")
		}
	}

	// Unknown API paths and methods answer in JSON too.
	res, body = b.apiGet(t, good, "/api/v1/nothing-here")
	wantAPIError(t, "unknown path", res, body, 404, "not_found")
	req, _ = http.NewRequest("DELETE", b.ts.URL+"/api/v1/submissions", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	res3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body3, _ := io.ReadAll(res3.Body)
	res3.Body.Close()
	wantAPIError(t, "DELETE", res3, body3, 405, "method_not_allowed")
	if got := res3.Header.Values("Allow"); !slices.Equal(got, []string{"GET", "HEAD"}) {
		t.Errorf("Allow: %q, want GET and HEAD", got)
	}
	req, _ = http.NewRequest("DELETE", b.ts.URL+"/api/v1/submissions/QS%2F1", nil) // an escaped path
	req.Header.Set("Authorization", "Bearer "+good)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 405 || !slices.Equal(res.Header.Values("Allow"), []string{"GET", "HEAD"}) {
		t.Errorf("DELETE on an escaped path: %v %v, want 405 with Allow GET, HEAD", res, err)
	} else {
		res.Body.Close()
	}
	// HEAD is answered wherever GET is, with the same status and no body.
	req, _ = http.NewRequest("HEAD", b.ts.URL+"/api/v1/submissions", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	res4, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res4.Body.Close()
	if res4.StatusCode != 200 || !strings.HasPrefix(res4.Header.Get("Content-Type"), "application/json") {
		t.Errorf("HEAD: %d %s, want 200 as for GET", res4.StatusCode, res4.Header.Get("Content-Type"))
	}
}

// TestAPIRoleMatrix is TestRoleMatrix for the API: with one token per role,
// every API route admits exactly the roles it lists (403 for the others,
// with a clear message for department tokens), and 401 without a token.
func TestAPIRoleMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tokens := map[tawasul.Role]string{}
	for _, role := range tawasul.AllRoles {
		tokens[role], _ = b.apiToken(t, role)
	}
	n := 0
	for _, r := range b.srv.Routes() {
		if r.Access != server.API {
			continue
		}
		n++
		if !strings.HasPrefix(r.Pattern, "/api/v1/") || r.Method != "GET" {
			t.Errorf("API route %s %s", r.Method, r.Pattern)
		}
		path := r.Pattern
		for _, p := range []string{"{reference}", "{phone}", "{message}", "{n}"} {
			path = strings.ReplaceAll(path, p, "x")
		}
		res, body := b.apiGet(t, "", path)
		wantAPIError(t, path+" without a token", res, body, 401, "unauthorized")
		for _, role := range tawasul.AllRoles {
			res, body := b.apiGet(t, tokens[role], path)
			allowed := slices.Contains(r.Roles, role)
			switch {
			case allowed && (res.StatusCode == 401 || res.StatusCode == 403):
				t.Errorf("%s as %s: %d, want allowed", path, role, res.StatusCode)
			case !allowed:
				msg := wantAPIError(t, path+" as "+string(role), res, body, 403, "forbidden")
				if role == tawasul.RoleDepartment && !strings.Contains(msg, "department") {
					t.Errorf("department token refused without saying why: %q", msg)
				}
			}
		}
	}
	if n != 5 {
		t.Errorf("%d API routes, want 5", n)
	}
	// Phone-keyed reads: only roles that may see personal data.
	for _, r := range b.srv.Routes() {
		if r.Access == server.API && (strings.Contains(r.Pattern, "messages") || strings.Contains(r.Pattern, "contacts")) {
			for _, role := range r.Roles {
				if !role.SeesPersonalData() {
					t.Errorf("%s admits %s, which may not see personal data", r.Pattern, role)
				}
			}
		}
	}
}

func TestAPISubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	agent, _ := b.apiToken(t, tawasul.RoleAgent)
	moderator, _ := b.apiToken(t, tawasul.RoleModerator)

	water := b.smsSubmission(t, "+966551234567", "انقطاع المآء في حي النسيم منذ ٣ أيام")
	idea := b.smsSubmission(t, "0502222222", "اقتراح: زيادة الإنارة في شارع 30")
	english := b.smsSubmission(t, "whatsapp:+966503333333", "The street light near the school is broken")
	old := b.smsSubmission(t, "+966504444444", "شكوى: الرصيف مكسور")
	_, err := b.srv.Pool.Exec(context.Background(), `UPDATE submissions SET status = 'closed',
		created_at = '2026-01-10T09:00:00Z' WHERE reference = $1`, old)
	if err != nil {
		t.Fatal(err)
	}

	// The list, newest first; the agent sees phones, the moderator does not.
	res, body := b.apiGet(t, agent, "/api/v1/submissions")
	var l apiSubmissionList
	if err := json.Unmarshal(body, &l); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if got := []string{l.Data[0].Reference, l.Data[1].Reference, l.Data[2].Reference, l.Data[3].Reference}; !slices.Equal(got, []string{english, idea, water, old}) {
		t.Errorf("order %v", got)
	}
	w := l.Data[2]
	if w.Phone != "+966551234567" || w.Channel != "sms" || w.Kind != "complaint" || w.Status != "new" || w.Language != "ar" ||
		w.Department != nil || w.CreatedAt.IsZero() || w.CreatedAt.Location() != time.UTC {
		t.Errorf("water submission: %+v", w)
	}
	if !strings.Contains(string(body), `"department":null`) || !strings.Contains(string(body), `"created_at":"`) {
		t.Errorf("field shape: %s", body)
	}
	_, body = b.apiGet(t, moderator, "/api/v1/submissions")
	if strings.Contains(string(body), `"phone"`) || strings.Contains(string(body), "551234567") {
		t.Errorf("moderator sees phone numbers: %s", body)
	}
	if !strings.Contains(string(body), water) {
		t.Errorf("moderator does not see submissions: %s", body)
	}

	// Filters.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"status=closed", []string{old}},
		{"status=new", sorted(water, idea, english)},
		{"kind=suggestion", []string{idea}},
		{"channel=whatsapp", []string{english}},
		{"since=2026-01-11", sorted(water, idea, english)},
		{"since=2026-01-10T00:00:00%2B03:00&until=2026-01-10", []string{old}},
		{"since=2026-01-10T00:00:00+03:00&until=2026-01-10", []string{old}}, // "+" unencoded: a space
		{"since=2099-01-01T00:00:00Z", nil},
		{"q=" + url.QueryEscape("الماء"), []string{water}},          // آ and ا fold together
		{"q=" + url.QueryEscape("الانارة"), []string{idea}},         // so do إ and ا
		{"q=" + url.QueryEscape("شارع ٣٠"), []string{idea}},         // Arabic-Indic digits in the query
		{"q=" + url.QueryEscape("منذ 3"), []string{water}},          // …and in the body
		{"q=" + url.QueryEscape("STREET LIGHT"), []string{english}}, // case
		{"q=" + url.QueryEscape("%"), nil},                          // LIKE wildcards are literal
		{"q=" + url.QueryEscape("النسيم  الماء"), []string{water}},  // words in any order
		{"q=" + url.QueryEscape("النسيم الانارة"), nil},             // …each of them
		{"phone=" + url.QueryEscape("٠٥٥١٢٣٤٥٦٧"), []string{water}}, // a phone as typed
		{"phone=" + url.QueryEscape("+966 50 333 3333"), []string{english}},
		{"kind=complaint&status=new&q=" + url.QueryEscape("المآء"), []string{water}},
	} {
		if got := b.listRefs(t, agent, "/api/v1/submissions?"+tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"status=bogus", "kind=rumour", "channel=fax", "since=yesterday", "until=2026-13-01",
		"since=2026-02-01&until=2026-01-01", "limit=0", "limit=ten", "cursor=nope", "phone=12", "q=" + strings.Repeat("x", 201)} {
		res, body := b.apiGet(t, agent, "/api/v1/submissions?"+q)
		wantAPIError(t, q, res, body, 400, "invalid")
	}
	res, body = b.apiGet(t, agent, "/api/v1/submissions?status=bogus")
	if !strings.Contains(string(body), "in_progress") {
		t.Errorf("bad status does not list the valid ones: %s", body)
	}
	res, body = b.apiGet(t, moderator, "/api/v1/submissions?phone=0551234567")
	wantAPIError(t, "moderator phone filter", res, body, 403, "forbidden")

	// One submission with its timeline.
	res, body = b.apiGet(t, agent, "/api/v1/submissions/"+water)
	var one struct {
		Data apiSubmission `json:"data"`
	}
	if err := json.Unmarshal(body, &one); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	d := one.Data
	if d.Reference != water || d.Phone != "+966551234567" || len(d.Timeline) != 3 {
		t.Fatalf("detail: %s", body)
	}
	if tl := d.Timeline; tl[0].Kind != "created" || tl[0].Message != nil ||
		tl[1].Kind != "message_in" || tl[1].Message == nil || tl[1].Message.Direction != "inbound" || tl[1].Message.Body != "انقطاع المآء في حي النسيم منذ ٣ أيام" ||
		tl[2].Kind != "message_out" || tl[2].Message == nil || tl[2].Message.Direction != "outbound" || !strings.Contains(tl[2].Message.Body, water) ||
		tl[2].Message.Status != "replied" || tl[2].Message.ErrorCode != nil {
		t.Errorf("timeline: %s", body)
	}
	// The resident's message carries its SID; the TwiML answer has none.
	if tl := d.Timeline; tl[1].Message.TwilioSID == nil || !strings.HasPrefix(*tl[1].Message.TwilioSID, "SM") ||
		tl[2].Message.TwilioSID != nil || !strings.Contains(string(body), `"twilio_sid":null`) {
		t.Errorf("timeline SIDs: %s", body)
	}
	if !strings.Contains(string(body), `"message":null`) || !strings.Contains(string(body), `"error_code":null`) {
		t.Errorf("absent values are not null: %s", body)
	}
	_, body = b.apiGet(t, moderator, "/api/v1/submissions/"+strings.ToLower(water))
	if strings.Contains(string(body), `"phone"`) || !strings.Contains(string(body), `"timeline"`) {
		t.Errorf("moderator detail: %s", body)
	}
	res, body = b.apiGet(t, agent, "/api/v1/submissions/QS-99-9999")
	wantAPIError(t, "unknown reference", res, body, 404, "not_found")
}

func TestAPIPagination(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tok, _ := b.apiToken(t, tawasul.RoleSupervisor)
	want := map[string]bool{}
	for i := range 7 {
		want[b.smsSubmission(t, "+96655100000"+string(rune('0'+i)), "بلاغ رقم "+string(rune('0'+i)))] = true
	}
	seen := map[string]bool{}
	path, pages := "/api/v1/submissions?limit=3&status=new", 0
	for {
		res, body := b.apiGet(t, tok, path)
		var l apiSubmissionList
		if err := json.Unmarshal(body, &l); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		pages++
		for _, s := range l.Data {
			if seen[s.Reference] {
				t.Fatalf("%s twice", s.Reference)
			}
			seen[s.Reference] = true
		}
		if l.NextCursor == nil {
			if !strings.Contains(string(body), `"next_cursor":null`) {
				t.Errorf("last page: %s", body)
			}
			break
		}
		if len(l.Data) != 3 || pages > 3 {
			t.Fatalf("page %d has %d rows with a next cursor", pages, len(l.Data))
		}
		path = "/api/v1/submissions?limit=3&status=new&cursor=" + url.QueryEscape(*l.NextCursor)
	}
	if pages != 3 || len(seen) != len(want) {
		t.Errorf("%d pages, %d rows; want 3 pages, %d rows", pages, len(seen), len(want))
	}
	for ref := range want {
		if !seen[ref] {
			t.Errorf("%s never listed", ref)
		}
	}
}

func TestAPIMessagesAndContacts(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	admin, _ := b.apiToken(t, tawasul.RoleAdmin)
	moderator, _ := b.apiToken(t, tawasul.RoleModerator)
	ref := b.smsSubmission(t, "+966551234567", "حفرة كبيرة في الطريق")
	if status, _ := b.webhook(t, "/twilio/sms", inbound("+966551234567", "HELP")); status != 200 {
		t.Fatal(status)
	}
	b.smsSubmission(t, "+966559999999", "someone else")

	res, body := b.apiGet(t, admin, "/api/v1/messages?phone="+url.QueryEscape("055 123 4567"))
	var l struct {
		Data []struct {
			Direction  string    `json:"direction"`
			Channel    string    `json:"channel"`
			Body       string    `json:"body"`
			Status     string    `json:"status"`
			TwilioSID  *string   `json:"twilio_sid"`
			ErrorCode  *int      `json:"error_code"`
			Submission *string   `json:"submission"`
			CreatedAt  time.Time `json:"created_at"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &l); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if len(l.Data) != 4 || l.NextCursor != nil {
		t.Fatalf("messages: %s", body)
	}
	// Newest first: the help reply, HELP, the acknowledgement, the report.
	m := l.Data
	if m[0].Direction != "outbound" || m[0].Submission != nil || m[1].Body != "HELP" || m[1].TwilioSID == nil ||
		!strings.HasPrefix(*m[1].TwilioSID, "SM") || m[3].Body != "حفرة كبيرة في الطريق" || m[3].Submission == nil ||
		*m[3].Submission != ref || m[2].Submission == nil || m[2].Status != "replied" || m[3].Status != "received" {
		t.Errorf("messages: %s", body)
	}
	if strings.Contains(string(body), "someone else") {
		t.Error("another contact's message listed")
	}
	// Paginated the same way.
	_, body = b.apiGet(t, admin, "/api/v1/messages?limit=3&phone=%2B966551234567")
	var p1 struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor *string           `json:"next_cursor"`
	}
	_ = json.Unmarshal(body, &p1)
	if len(p1.Data) != 3 || p1.NextCursor == nil {
		t.Fatalf("first page: %s", body)
	}
	_, body = b.apiGet(t, admin, "/api/v1/messages?limit=3&phone=%2B966551234567&cursor="+url.QueryEscape(*p1.NextCursor))
	var p2 struct {
		Data []struct {
			Body string `json:"body"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	_ = json.Unmarshal(body, &p2)
	if len(p2.Data) != 1 || p2.NextCursor != nil || p2.Data[0].Body != "حفرة كبيرة في الطريق" {
		t.Errorf("second page: %s", body)
	}
	res, body = b.apiGet(t, admin, "/api/v1/messages")
	wantAPIError(t, "messages without phone", res, body, 400, "invalid")
	res, body = b.apiGet(t, admin, "/api/v1/messages?phone=hello")
	wantAPIError(t, "messages with a bad phone", res, body, 400, "invalid")

	// The contact, with the phone in any form a person types.
	for _, typed := range []string{"+966551234567", "%2B966551234567", "0551234567", url.PathEscape("٠٥٥١٢٣٤٥٦٧"), "00966551234567", "055%20123%204567"} {
		res, body := b.apiGet(t, admin, "/api/v1/contacts/"+typed)
		var c struct {
			Data struct {
				Phone       string    `json:"phone"`
				Language    string    `json:"language"`
				OptedOut    *bool     `json:"opted_out"`
				FirstSeenAt time.Time `json:"first_seen_at"`
				LastSeenAt  time.Time `json:"last_seen_at"`
				Counts      struct {
					Submissions int `json:"submissions"`
					MessagesIn  int `json:"messages_in"`
					MessagesOut int `json:"messages_out"`
				} `json:"counts"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &c); err != nil || res.StatusCode != 200 {
			t.Errorf("contact %s: %d %s", typed, res.StatusCode, body)
			continue
		}
		d := c.Data
		if d.Phone != "+966551234567" || d.Language != "ar" /* a keyword (HELP) does not change it */ || d.OptedOut == nil || *d.OptedOut || d.FirstSeenAt.IsZero() ||
			d.LastSeenAt.Before(d.FirstSeenAt) || d.Counts.Submissions != 1 || d.Counts.MessagesIn != 2 || d.Counts.MessagesOut != 2 {
			t.Errorf("contact %s: %s", typed, body)
		}
	}
	res, body = b.apiGet(t, admin, "/api/v1/contacts/not-a-phone")
	wantAPIError(t, "bad phone", res, body, 400, "invalid")
	res, body = b.apiGet(t, admin, "/api/v1/contacts/0500000000")
	wantAPIError(t, "unknown contact", res, body, 404, "not_found")

	// Roles without personal data get 403 on phone-keyed endpoints.
	res, body = b.apiGet(t, moderator, "/api/v1/messages?phone=0551234567")
	wantAPIError(t, "moderator messages", res, body, 403, "forbidden")
	res, body = b.apiGet(t, moderator, "/api/v1/contacts/0551234567")
	wantAPIError(t, "moderator contact", res, body, 403, "forbidden")
}

// TestAPIRateLimitPerToken: each token may make TAWASUL_API_TOKEN_LIMIT
// requests a minute over all API routes together; the next gets 429 with
// a JSON error and Retry-After, while another token is not held back.
func TestAPIRateLimitPerToken(t *testing.T) {
	t.Parallel()
	b := setup(t, &setupOpts{environ: []string{"TAWASUL_API_TOKEN_LIMIT=3"}})
	busy, _ := b.apiToken(t, tawasul.RoleSupervisor)
	other, _ := b.apiToken(t, tawasul.RoleSupervisor)
	for _, path := range []string{"/api/v1/submissions", "/api/v1/contacts/0551234567", "/api/v1/messages?phone=0551234567"} {
		if res, body := b.apiGet(t, busy, path); res.StatusCode != 200 && res.StatusCode != 404 {
			t.Fatalf("%s within the limit: %d %s", path, res.StatusCode, body)
		}
	}
	res, body := b.apiGet(t, busy, "/api/v1/submissions")
	var e apiErr
	if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != 429 || e.Error.Code != "rate_limited" ||
		res.Header.Get("Retry-After") == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("fourth request in the minute: %d %v %s (%v)", res.StatusCode, res.Header, body, err)
	}
	if res, body := b.apiGet(t, other, "/api/v1/submissions"); res.StatusCode != 200 {
		t.Errorf("another token: %d %s", res.StatusCode, body)
	}
}
