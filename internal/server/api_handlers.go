package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"tawasul/internal/tawasul"
)

// JSON API resources (docs/api.md). Field names are snake_case, times
// RFC 3339 in UTC, absent values null. Phone numbers appear only for tokens
// whose role may see residents' personal data.

// apiSubmission is a submission in the API.
type apiSubmission struct {
	Reference  string    `json:"reference"`
	Channel    string    `json:"channel"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Body       string    `json:"body"`
	Language   string    `json:"language"`
	Department *string   `json:"department"`      // department code, null until routed
	Phone      string    `json:"phone,omitempty"` // E.164; omitted for roles that may not see it
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// apiSubmissionDetail is a submission with its timeline, oldest first.
type apiSubmissionDetail struct {
	apiSubmission
	Timeline []apiEvent `json:"timeline"`
}

// apiEvent is one timeline entry, with its message if it has one.
type apiEvent struct {
	At      time.Time        `json:"at"`
	Kind    string           `json:"kind"`
	Message *apiEventMessage `json:"message"`
}

// apiEventMessage is a message as a timeline entry shows it.
type apiEventMessage struct {
	Direction string     `json:"direction"`
	Channel   string     `json:"channel"`
	Body      string     `json:"body"`
	Status    string     `json:"status"`
	TwilioSID *string    `json:"twilio_sid"`
	ErrorCode *int       `json:"error_code"`
	Media     []apiMedia `json:"media"`
}

// apiMedia is an attachment of an inbound message.
type apiMedia struct {
	ContentType string  `json:"content_type"`
	URL         *string `json:"url"` // Tawasul's, for the same token; null for a message outside any submission
}

// apiMediaOf is m's attachments, [] for none; ref is m's submission ("" for
// none).
func (s *Server) apiMediaOf(m *tawasul.Message, ref string) []apiMedia {
	out := make([]apiMedia, len(m.Media))
	for i, a := range m.Media {
		out[i].ContentType = a.ContentType
		if ref != "" {
			u := s.Config.PublicURL + "/api/v1/submissions/" + url.PathEscape(ref) + "/media/" +
				strconv.FormatInt(m.ID, 10) + "/" + strconv.Itoa(i)
			out[i].URL = &u
		}
	}
	return out
}

// apiEventMessageOf is m as a timeline entry shows it; ref is m's
// submission ("" for none).
func (s *Server) apiEventMessageOf(m *tawasul.Message, ref string) apiEventMessage {
	return apiEventMessage{Direction: m.Direction, Channel: string(m.Channel), Body: m.Body, Status: m.Status,
		TwilioSID: m.TwilioSID, ErrorCode: m.ErrorCode, Media: s.apiMediaOf(m, ref)}
}

// apiMessage is a message in a contact's message list: the timeline's
// fields, and which submission it belongs to and when.
type apiMessage struct {
	apiEventMessage
	Submission *string   `json:"submission"` // reference, or null
	CreatedAt  time.Time `json:"created_at"`
}

// apiContact is a contact's summary.
type apiContact struct {
	Phone       string           `json:"phone"`
	Language    string           `json:"language"`
	OptedOut    bool             `json:"opted_out"`
	FirstSeenAt time.Time        `json:"first_seen_at"`
	LastSeenAt  time.Time        `json:"last_seen_at"`
	Counts      apiContactCounts `json:"counts"`
}

type apiContactCounts struct {
	Submissions int `json:"submissions"`
	MessagesIn  int `json:"messages_in"`
	MessagesOut int `json:"messages_out"`
}

func toAPISubmission(it *tawasul.SubmissionItem, withPhone bool) apiSubmission {
	a := apiSubmission{Reference: it.Reference, Channel: string(it.Channel), Kind: string(it.Kind),
		Status: string(it.Status), Body: it.Body, Language: it.Language, Department: nullable(it.DepartmentCode),
		CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()}
	if withPhone {
		a.Phone = it.Phone
	}
	return a
}

// handleAPISubmissionList answers GET /api/v1/submissions: one page of
// submissions, newest first, filtered by phone (only for roles that may see
// personal data; 403 otherwise), status, channel, kind, since, until and q.
func (s *Server) handleAPISubmissionList(w http.ResponseWriter, r *http.Request) {
	role := tokenOf(r).Role
	q := r.URL.Query()
	if q.Get("phone") != "" && !role.SeesPersonalData() {
		s.apiError(w, r, errPhoneForbidden)
		return
	}
	f, err := submissionFilter(q)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	items, next, err := s.Store.SubmissionList(r.Context(), f)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := apiList[apiSubmission]{Data: make([]apiSubmission, 0, len(items)), NextCursor: nullable(next)}
	for _, it := range items {
		out.Data = append(out.Data, toAPISubmission(it, role.SeesPersonalData()))
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleAPISubmissionGet answers GET /api/v1/submissions/{reference}: the
// submission and its whole timeline, or 404.
func (s *Server) handleAPISubmissionGet(w http.ResponseWriter, r *http.Request) {
	role := tokenOf(r).Role
	ref := referenceParam(r)
	d, err := s.Store.SubmissionDetail(r.Context(), ref, nil)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := apiSubmissionDetail{apiSubmission: toAPISubmission(&d.SubmissionItem, role.SeesPersonalData()),
		Timeline: make([]apiEvent, 0, len(d.Timeline))}
	for _, e := range d.Timeline {
		ev := apiEvent{At: e.At.UTC(), Kind: e.Kind}
		if m := e.Message; m != nil {
			msg := s.apiEventMessageOf(m, d.Reference)
			ev.Message = &msg
		}
		out.Timeline = append(out.Timeline, ev)
	}
	s.writeJSON(w, r, http.StatusOK, apiOne[apiSubmissionDetail]{Data: out})
}

var errPhoneRequired = tawasul.Errorf(tawasul.EINVALID, "submissions.filter.phone_required", "the phone parameter is required")

// handleAPIMessageList answers GET /api/v1/messages?phone=: one page of the
// messages to and from a phone number, newest first, each with its
// submission's reference. The phone may be in any form a person types.
func (s *Server) handleAPIMessageList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e164, err := phoneParam(q.Get("phone"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	limit, err := limitParam(q)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	items, next, err := s.Store.MessageListByPhone(r.Context(), e164, q.Get("cursor"), limit)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	out := apiList[apiMessage]{Data: make([]apiMessage, 0, len(items)), NextCursor: nullable(next)}
	for _, m := range items {
		out.Data = append(out.Data, apiMessage{apiEventMessage: s.apiEventMessageOf(&m.Message, m.SubmissionReference),
			Submission: nullable(m.SubmissionReference), CreatedAt: m.CreatedAt.UTC()})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleAPIContactGet answers GET /api/v1/contacts/{phone}: the contact with
// that phone (in any form a person types; 400 if it is not a phone number)
// and its counts, or 404.
func (s *Server) handleAPIContactGet(w http.ResponseWriter, r *http.Request) {
	raw := chi.URLParam(r, "phone")
	if u, err := url.PathUnescape(raw); err == nil { // chi gives the raw path when it holds %2B
		raw = u
	}
	e164, err := phoneParam(raw)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	c, err := s.Store.ContactSummaryByPhone(r.Context(), e164)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, apiOne[apiContact]{Data: apiContact{Phone: c.Phone, Language: c.Language,
		OptedOut: c.OptedOut(), FirstSeenAt: c.FirstSeenAt.UTC(), LastSeenAt: c.LastSeenAt.UTC(),
		Counts: apiContactCounts{Submissions: c.Submissions, MessagesIn: c.MessagesIn, MessagesOut: c.MessagesOut}}})
}
