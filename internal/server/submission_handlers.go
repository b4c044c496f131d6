package server

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"golang.org/x/text/width"

	"tawasul/internal/arabic"
	"tawasul/internal/i18n"
	"tawasul/internal/phone"
	"tawasul/internal/render"
	"tawasul/internal/tawasul"
)

// maxQueryRunes bounds the text search of submission lists.
const maxQueryRunes = 200

var (
	errBadPhone = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.bad_phone", "phone is not a valid phone number")
	errBadDate  = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.bad_date",
		"since and until take an RFC 3339 time (2026-03-01T08:00:00+03:00) or a date (2026-03-01, Riyadh time)")
	errBadRange = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.bad_range", "since must be before until")
	errBadLimit = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.bad_limit", "limit must be a whole number from 1")
	errLongText = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.query_too_long", "q must have at most 200 characters")
	// errPhoneInURL refuses a phone number in a page's address: it would
	// stay in browser history and proxy logs. The page posts it instead.
	errPhoneInURL = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.phone_in_url",
		"look submissions up by phone with the form, not in the address")
	// errPhoneForbidden refuses phone-keyed reads to roles that may not see
	// residents' personal data.
	errPhoneForbidden = tawasul.Errorf(tawasul.EFORBIDDEN, "submissions.phone_forbidden",
		"your role may not see or search residents' phone numbers")
)

// submissionFilter reads a submission list's filters from a query string,
// for the staff list page and the API alike: phone (any form a person types),
// status, channel, kind, since and until (RFC 3339, or a date in Riyadh
// time: since from its start, until to its end), q, cursor and limit. Empty
// values do not filter. Returns EINVALID, naming the bad value, for anything
// it cannot read.
func submissionFilter(q url.Values) (tawasul.SubmissionFilter, error) {
	var f tawasul.SubmissionFilter
	var err error
	if v := strings.TrimSpace(q.Get("phone")); v != "" {
		if f.Phone, err = phoneParam(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("status"); v != "" {
		if f.Status, err = tawasul.ParseStatus(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("channel"); v != "" {
		if f.Channel, err = tawasul.ParseChannel(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("kind"); v != "" {
		if f.Kind, err = tawasul.ParseKind(v); err != nil {
			return f, err
		}
	}
	if v := strings.TrimSpace(q.Get("since")); v != "" {
		if f.Since, err = parseTimeParam(v, false); err != nil {
			return f, err
		}
	}
	if v := strings.TrimSpace(q.Get("until")); v != "" {
		if f.Until, err = parseTimeParam(v, true); err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, errBadRange
	}
	f.Query = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Query) > maxQueryRunes {
		return f, errLongText
	}
	f.Cursor = q.Get("cursor")
	if f.Limit, err = limitParam(q); err != nil {
		return f, err
	}
	return f, nil
}

// limitParam reads the optional page size, a whole number ≥ 1; the store
// caps it at tawasul.MaxPageSize, which a number too large for an int is.
func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
		return tawasul.MaxPageSize, nil
	}
	if err != nil || n < 1 {
		return 0, errBadLimit
	}
	return n, nil
}

// parseTimeParam reads an RFC 3339 time, or a date (YYYY-MM-DD) in Riyadh
// time: its start, or with endOfDay the start of the next day, so that an
// "until" date includes that whole day. A time whose "+" offset came
// unencoded in a query string (and so reads as a space, as in
// "2026-01-10T00:00:00 03:00") is read as that offset.
func parseTimeParam(v string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if i := len(v) - len("+03:00"); i > 0 && v[i] == ' ' && strings.Contains(v[:i], "T") {
		if t, err := time.Parse(time.RFC3339Nano, v[:i]+"+"+v[i+1:]); err == nil {
			return t, nil
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, v, i18n.Riyadh)
	if err != nil {
		return time.Time{}, errBadDate
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// submissionReaders are the roles that read submissions; readersOfAll see
// every department's, a department user only their department's.
var readersOfAll = []tawasul.Role{tawasul.RoleAdmin, tawasul.RoleSupervisor, tawasul.RoleAgent, tawasul.RoleModerator}

// submissionScope returns the department a user's submission reads are
// limited to: nil for users with a role that reads every submission, the
// user's department for department users.
func submissionScope(u *tawasul.User) (*int64, error) {
	if u.HasAnyRole(readersOfAll...) {
		return nil, nil
	}
	if u.HasAnyRole(tawasul.RoleDepartment) && u.DepartmentID != nil {
		return u.DepartmentID, nil
	}
	return nil, errForbidden
}

// SubmissionListPage is the data of the submission list.
type SubmissionListPage struct {
	render.Base
	Form       url.Values // the filters as given, to fill the form again
	Error      string     // a bad filter, translated; no results are shown then
	Rows       []SubmissionRow
	NextURL    string // the next page, "" on the last
	FirstURL   string // the first page, "" on it
	Department string // the name of the department the list is limited to, "" for all
	CanByPhone bool   // the user may look submissions up by phone
	ByPhone    string // the number the list is limited to, for display ("" for none)
	PhoneTyped string // a number refused by the lookup, back in its box
	Statuses   []tawasul.Status
	Kinds      []tawasul.Kind
	Channels   []tawasul.Channel
}

// SubmissionRow is one line of the submission list.
type SubmissionRow struct {
	*tawasul.SubmissionItem
	Excerpt string // the start of the body
}

// handleSubmissionList lists submissions, newest first, with filters
// (status, channel, kind, date from/to, text search) and a next-page link.
// Department users see only their department's submissions. A bad filter
// re-shows the form with a 400 and a translated message.
func (s *Server) handleSubmissionList(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	q := r.URL.Query()
	scope, err := submissionScope(u)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := s.submissionListPage(r, scope)
	// The number posted to /submissions/by-phone is kept in the session, so
	// it stays out of URLs, history and logs. The page (and its filter
	// form) keeps it even when a filter is refused.
	var byPhone string
	if q.Get("by_phone") == "1" && u.SeesPersonalData() {
		if byPhone = s.sessions.GetString(r.Context(), sessionByPhone); byPhone != "" {
			p.ByPhone = phone.Display(byPhone)
		}
	}
	f, err := submissionFilter(q)
	switch {
	case err != nil:
	case f.Phone != "" && !u.SeesPersonalData():
		err = errPhoneForbidden
	case f.Phone != "":
		err = errPhoneInURL
	default:
		f.Phone = byPhone
	}
	if err != nil {
		if tawasul.ErrorCode(err) != tawasul.EINVALID {
			s.error(w, r, err)
			return
		}
		p.Error = s.langOf(r).T(tawasul.ErrorKey(err))
		s.page(w, r, http.StatusBadRequest, "submissions", p)
		return
	}
	f.DepartmentID = scope
	// Staff type in the reference a resident reads out: straight to it,
	// when it is one this user may see.
	if ref, ok := parseReference(f.Query); ok {
		if _, err := s.Store.SubmissionDetail(r.Context(), ref, scope); err == nil {
			http.Redirect(w, r, "/submissions/"+ref, http.StatusSeeOther)
			return
		}
	}
	items, next, err := s.Store.SubmissionList(r.Context(), f)
	if tawasul.ErrorCode(err) == tawasul.EINVALID { // a bad cursor
		p.Error = s.langOf(r).T(tawasul.ErrorKey(err))
		s.page(w, r, http.StatusBadRequest, "submissions", p)
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, it := range items {
		p.Rows = append(p.Rows, SubmissionRow{SubmissionItem: it, Excerpt: excerpt(it.Body, 90)})
	}
	if next != "" {
		p.NextURL = listURL(q, next)
	}
	if f.Cursor != "" {
		p.FirstURL = listURL(q, "")
	}
	s.page(w, r, http.StatusOK, "submissions", p)
}

// listURL is the submission list with the filters of q at cursor ("" for
// the first page).
func listURL(q url.Values, cursor string) string {
	nq := url.Values{}
	for k, v := range q {
		if k != "cursor" && k != "lang" {
			nq[k] = v
		}
	}
	if cursor != "" {
		nq.Set("cursor", cursor)
	}
	if len(nq) == 0 {
		return "/submissions"
	}
	return "/submissions?" + nq.Encode()
}

// SubmissionPage is the data of one submission's page.
type SubmissionPage struct {
	render.Base
	Submission *tawasul.SubmissionDetail
	Phone      string // the contact's phone for display; "" when the user may not see it, or there is none
	Timeline   []TimelineRow
	CanReply   bool   // the user may write to the resident (submission_reply.go)
	ReplyKey   string // the reply form's one-time key
	ReplyBody  string // the text of a reply that was refused, back in the form
	ReplyError string // why it was refused, translated
}

// TimelineRow is one timeline entry with its labels translated.
type TimelineRow struct {
	*tawasul.TimelineEvent
	Label       string // what happened
	StatusLabel string // the message's delivery status, "" without a message
	ErrorCode   string // the message's Twilio error code, "" without one
	ErrorText   string // what the code means, translated; "" for a code not in twilioErrorTexts
	Media       []MediaLink
}

// handleSubmissionView shows one submission: its fields, the contact's
// phone (only to users who may see personal data), whether the resident can
// be written to, and its whole timeline, messages in and out with their
// delivery status and error code. An unknown reference, or one outside a
// department user's department, is 404.
func (s *Server) handleSubmissionView(w http.ResponseWriter, r *http.Request) {
	d, err := s.submissionOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// One address per submission: /submissions/qs-26-173 moves to
	// /submissions/QS-26-0173, so history and bookmarks agree.
	if chi.URLParam(r, "reference") != d.Reference {
		u := url.URL{Path: "/submissions/" + d.Reference, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return
	}
	p := s.submissionPage(r, d)
	if key := s.popString(r, sessionFlashKey); key != "" {
		p.Flash = s.langOf(r).T(key)
	}
	s.page(w, r, http.StatusOK, "submission", p)
}

// submissionPage is d's page for the user of r, with a fresh reply key.
func (s *Server) submissionPage(r *http.Request, d *tawasul.SubmissionDetail) *SubmissionPage {
	u := userOf(r)
	lang := s.langOf(r)
	p := &SubmissionPage{Submission: d, CanReply: u.HasAnyRole(submissionRepliers...), ReplyKey: newReplyKey()}
	if u.SeesPersonalData() && d.Phone != "" {
		p.Phone = phone.Display(d.Phone)
	}
	for _, e := range d.Timeline {
		row := TimelineRow{TimelineEvent: e, Label: timelineLabel(lang, e.Kind)}
		if e.Message != nil {
			row.StatusLabel = deliveryLabel(lang, e.Message.Status)
			if c := e.Message.ErrorCode; c != nil {
				row.ErrorCode = strconv.Itoa(*c)
				if twilioErrorTexts[*c] {
					row.ErrorText = lang.T("twilio_errors.e" + row.ErrorCode)
				}
			}
			row.Media = s.mediaLinks(r, d.Reference, e.Message)
		}
		p.Timeline = append(p.Timeline, row)
	}
	return p
}

// twilioErrorTexts are the Twilio error codes whose meaning the catalog
// gives staff (twilio_errors.e<code>): the ones a message to a resident
// commonly ends with. Others show as a bare code.
var twilioErrorTexts = map[int]bool{21211: true, 21610: true, 21614: true, 30003: true, 30004: true, 30005: true,
	30006: true, 30007: true, 30008: true, 63003: true, 63016: true}

// timelineKinds are the timeline event kinds with a catalog label
// (timeline.<kind>); others are shown as stored.
var timelineKinds = map[string]bool{"created": true, "message_in": true, "message_out": true, "detail_added": true,
	"routed": true, "status_changed": true, "note": true, "rated": true}

func timelineLabel(lang *i18n.Lang, kind string) string {
	if timelineKinds[kind] {
		return lang.T("timeline." + kind)
	}
	return kind
}

// deliveryStatuses are the message statuses with a catalog label
// (delivery.<status>): inbound "received", TwiML "replied", and Twilio's
// outbound statuses. Others are shown as stored.
var deliveryStatuses = map[string]bool{"received": true, "replied": true, "pending": true, "accepted": true,
	"scheduled": true, "queued": true, "sending": true, "sent": true, "delivered": true, "read": true,
	"undelivered": true, "failed": true, "canceled": true}

func deliveryLabel(lang *i18n.Lang, status string) string {
	if status == "cancelled" {
		status = "canceled"
	}
	if deliveryStatuses[status] {
		return lang.T("delivery." + status)
	}
	return status
}

// excerpt returns the first n characters of s on one line, with "…" when
// cut.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// submissionOf loads the submission named by the {reference} URL parameter,
// as the signed-in user may see it: ENOTFOUND for an unknown reference or
// one outside a department user's department.
func (s *Server) submissionOf(r *http.Request) (*tawasul.SubmissionDetail, error) {
	scope, err := submissionScope(userOf(r))
	if err != nil {
		return nil, err
	}
	return s.Store.SubmissionDetail(r.Context(), referenceParam(r), scope)
}

// referenceParam is the {reference} URL parameter, read by parseReference.
// chi gives it as it appears in the path, still percent-encoded when the
// path was (qs%20٢٦%20٠١٧٣).
func referenceParam(r *http.Request) string {
	v := chi.URLParam(r, "reference")
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	ref, _ := parseReference(v)
	return ref
}

// typedReferenceRE is a reference as typed, once cleaned by parseReference:
// its parts with separators between both (the number with or without its
// leading zeros), or with none and the whole number. "QS-2617" (the year
// left out) is not read as QS-26-0017.
var typedReferenceRE = regexp.MustCompile(`^([A-Z]{1,4})(?:[-_/. ]+([0-9]{2})[-_/. ]+([0-9]{1,12})|([0-9]{2})([0-9]{4,12}))$`)

// parseReference reads a reference as people type it, read it out or copy
// it from Arabic text: in any case, with Arabic-Indic or full-width
// digits, with spaces or dashes between its parts and without the number's
// leading zeros ("qs ٢٦ ١٧٣"), or with nothing between them ("QS260173"),
// and with direction marks and punctuation around it ("QS-26-0173."). It
// returns the reference as stored (QS-26-0173: prefix, two-digit year,
// number of four digits or more, as reference_next in migration 00005
// makes it), and ok false when s does not have a reference's shape.
func parseReference(s string) (ref string, ok bool) {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r): // RLM, LRM, isolates, ALM
			return -1
		case unicode.IsSpace(r):
			return ' '
		case unicode.Is(unicode.Pd, r) || r == '−': // dashes, U+2212 minus sign
			return '-'
		}
		return r
	}, width.Narrow.String(s)) // full-width letters and digits; nothing else (no NFKC: "0173²" is not 01732)
	s = strings.TrimFunc(s, func(r rune) bool { return r == ' ' || unicode.IsPunct(r) })
	m := typedReferenceRE.FindStringSubmatch(strings.ToUpper(arabic.FoldDigits(s)))
	if m == nil {
		return "", false
	}
	prefix, year, number := m[1], m[2]+m[4], m[3]+m[5] // one alternative matched
	number = strings.TrimLeft(number, "0")
	if len(number) < 4 {
		number = strings.Repeat("0", 4-len(number)) + number
	}
	return prefix + "-" + year + "-" + number, true
}

// submissionListPage is the list page for r's user, limited to the
// department scope (nil: all), with no rows yet.
func (s *Server) submissionListPage(r *http.Request, scope *int64) *SubmissionListPage {
	u := userOf(r)
	p := &SubmissionListPage{Form: r.URL.Query(), CanByPhone: u.SeesPersonalData(),
		Statuses: tawasul.AllStatuses, Kinds: tawasul.AllKinds, Channels: tawasul.AllChannels}
	if scope != nil {
		p.Department = u.DepartmentName.In(s.langOf(r).Code)
	}
	return p
}

// sessionByPhone holds the number staff look submissions up by.
const sessionByPhone = "submissions_by_phone"

// handleSubmissionsByPhone takes a phone number typed as people do, keeps
// it in the staff session and shows the list limited to it
// (/submissions?by_phone=1; plain /submissions shows everything again). A
// number that is not a phone number gets the list page again (400), with
// the reason and the number as typed, and no results.
func (s *Server) handleSubmissionsByPhone(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.error(w, r, err)
		return
	}
	e164, err := phoneParam(r.PostForm.Get("phone"))
	if tawasul.ErrorCode(err) == tawasul.EINVALID {
		// The list page again, with the reason and the number as typed.
		scope, serr := submissionScope(userOf(r))
		if serr != nil {
			s.error(w, r, serr)
			return
		}
		p := s.submissionListPage(r, scope)
		p.Error, p.PhoneTyped = s.langOf(r).T(tawasul.ErrorKey(err)), r.PostForm.Get("phone")
		s.page(w, r, http.StatusBadRequest, "submissions", p)
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessionByPhone, e164)
	http.Redirect(w, r, "/submissions?by_phone=1", http.StatusSeeOther)
}

// phoneParam reads a phone number typed as people do (05…, +966…,
// Arabic-Indic digits, spaces) into E.164: errPhoneRequired when empty,
// errBadPhone when it is not a phone number.
func phoneParam(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errPhoneRequired
	}
	e164, err := phone.Normalize(raw)
	if err != nil {
		return "", errBadPhone
	}
	return e164, nil
}
