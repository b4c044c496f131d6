package twiliofake

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is a message the fake accepted through the REST API.
type Message struct {
	SID                 string // "SM"+32 hex, or "MM"+32 hex when MediaURLs is not empty
	AccountSID          string
	From                string // "" when sent through a Messaging Service without From
	To                  string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	Status              string // queued, accepted, then whatever Deliver/AutoCallbacks set
	StatusCallback      string
	NumSegments         int // computed from Body (GSM-7 160/153, UCS-2 70/67); 1 for WhatsApp
	ErrorCode           int // set by Deliver for failed/undelivered; 0 otherwise
	DateCreated         time.Time
	DateUpdated         time.Time
}

func (m *Message) clone() Message {
	c := *m
	c.MediaURLs = slices.Clone(m.MediaURLs)
	return c
}

// Messages returns copies of every message accepted so far, in the order
// they were accepted (including messages answered with an AcceptThenFail
// fault).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(nil)
}

// MessagesTo returns copies of the accepted messages whose To equals to
// exactly, in acceptance order.
func (s *Server) MessagesTo(to string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(func(m *Message) bool { return m.To == to })
}

// Message returns a copy of the message with the given SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgIndex[sid]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

func (s *Server) messagesLocked(keep func(*Message) bool) []Message {
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		if keep == nil || keep(m) {
			out = append(out, m.clone())
		}
	}
	return out
}

// WaitMessages blocks until at least n messages have been accepted, then
// returns copies of all accepted messages (possibly more than n). It returns
// ctx's error if ctx ends first. It is event-driven: it wakes on every
// accepted message, not by polling.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	var out []Message
	err := s.waitUntil(ctx, func() bool {
		if len(s.messages) < n {
			return false
		}
		out = s.messagesLocked(nil)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// messageStatuses is the spec's message_enum_status.
var messageStatuses = []string{
	"queued", "sending", "sent", "failed", "delivered", "undelivered", "receiving",
	"received", "accepted", "scheduled", "read", "partially_delivered", "canceled",
}

// addressRe accepts what Twilio accepts as a destination: a phone number of
// 7 to 15 digits with an optional leading "+", optionally behind a channel
// prefix such as "whatsapp:".
var addressRe = regexp.MustCompile(`^(?:[a-z]+:)?\+?[1-9][0-9]{6,14}$`)

const maxBodyChars = 1600

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if !parsePostForm(w, r) {
		return
	}
	form := r.PostForm
	to := form.Get("To")

	fault, faulted := s.takeFault(to)
	if faulted && !fault.AcceptThenFail {
		s.answerFault(w, r, fault, to, form.Get("From"))
		return
	}

	from := form.Get("From")
	service := form.Get("MessagingServiceSid")
	body := form.Get("Body")
	media := form["MediaUrl"]
	switch {
	case to == "":
		writeTwilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !addressRe.MatchString(to):
		writeTwilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to)
		return
	case from == "" && service == "":
		writeTwilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case service != "" && !isSID(service, "MG"):
		writeTwilioError(w, http.StatusBadRequest, 21701, "The Messaging Service Sid "+service+" is invalid.")
		return
	case body == "" && len(media) == 0 && form.Get("ContentSid") == "":
		writeTwilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > maxBodyChars:
		writeTwilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}

	now := s.timestamp()
	prefix := "SM"
	if len(media) > 0 {
		prefix = "MM"
	}
	status := "queued"
	if from == "" {
		status = "accepted" // a Messaging Service will pick the sender
	}
	segments := countSegments(body)
	if strings.HasPrefix(to, "whatsapp:") {
		segments = 1
	}
	m := &Message{
		SID:                 NewSID(prefix),
		AccountSID:          s.accountSID,
		From:                from,
		To:                  to,
		MessagingServiceSID: service,
		Body:                body,
		MediaURLs:           slices.Clone(media),
		Status:              status,
		StatusCallback:      form.Get("StatusCallback"),
		NumSegments:         segments,
		DateCreated:         now,
		DateUpdated:         now,
	}

	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.msgIndex[m.SID] = m
	view := s.messageJSONLocked(m)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("twiliofake: message accepted", "sid", m.SID, "to", to, "segments", segments)

	if faulted {
		s.answerFault(w, r, fault, to, from)
	} else {
		writeJSON(w, http.StatusCreated, view)
		_ = http.NewResponseController(w).Flush()
	}

	if s.auto {
		sid := m.SID
		s.goBackground(func() { s.runAutoCallbacks(sid) })
	}
}

func (s *Server) fetchMessage(w http.ResponseWriter, sid, apiPath string) {
	s.mu.Lock()
	m, ok := s.msgIndex[sid]
	var view messageJSON
	if ok {
		view = s.messageJSONLocked(m)
	}
	s.mu.Unlock()
	if !ok {
		s.writeNotFound(w, apiPath)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// messageJSON is the api.v2010.account.message schema. Every property is
// always present; unknown values are null, as Twilio sends them.
type messageJSON struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            string            `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// rfc2822 is the date layout Twilio uses in JSON bodies, always in GMT.
const rfc2822 = time.RFC1123Z

func (s *Server) messageJSONLocked(m *Message) messageJSON {
	base := "/" + APIVersion + "/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	v := messageJSON{
		AccountSID:  m.AccountSID,
		APIVersion:  APIVersion,
		Body:        m.Body,
		DateCreated: m.DateCreated.Format(rfc2822),
		// The fake hands a message to the "carrier" the moment it accepts
		// it, so date_sent equals date_created (as in the spec's examples).
		DateSent:        m.DateCreated.Format(rfc2822),
		DateUpdated:     m.DateUpdated.Format(rfc2822),
		Direction:       "outbound-api",
		NumMedia:        strconv.Itoa(len(m.MediaURLs)),
		NumSegments:     strconv.Itoa(m.NumSegments),
		PriceUnit:       "USD",
		SID:             m.SID,
		Status:          m.Status,
		SubresourceURIs: map[string]string{"media": base + "/Media.json"},
		To:              m.To,
		URI:             base + ".json",
	}
	if m.Status == "accepted" {
		// Spec: "For messages sent via a Messaging Service, num_segments is
		// initially 0, since a sender hasn't yet been assigned."
		v.NumSegments = "0"
	}
	if m.From != "" {
		v.From = &m.From
	}
	if m.MessagingServiceSID != "" {
		v.MessagingServiceSID = &m.MessagingServiceSID
	}
	if m.ErrorCode != 0 {
		code := m.ErrorCode
		v.ErrorCode = &code
		if msg := errorMessage(code, m.To, m.From); msg != "" {
			v.ErrorMessage = &msg
		}
	}
	return v
}

// listMessagesJSON is the spec's ListMessageResponse.
type listMessagesJSON struct {
	Messages        []messageJSON `json:"messages"`
	End             int           `json:"end"`
	FirstPageURI    string        `json:"first_page_uri"`
	NextPageURI     *string       `json:"next_page_uri"`
	Page            int           `json:"page"`
	PageSize        int           `json:"page_size"`
	PreviousPageURI *string       `json:"previous_page_uri"`
	Start           int           `json:"start"`
	URI             string        `json:"uri"`
}

// listMessages implements the Messages list, newest first, with Twilio's
// filters and paging:
//
//   - To, From: exact match.
//   - DateSent, DateSent<, DateSent> (twilio-go sends the names "DateSent",
//     "DateSent<" and "DateSent>" with RFC 3339 values; YYYY-MM-DD and
//     RFC 2822 are accepted too) filter on date_sent, which the fake sets to
//     the creation time. DateSent matches the UTC calendar day. DateSent>
//     means "on or after", DateSent< "on or before"; with a date-only value
//     the whole day is included, with a date-time value the bound is that
//     instant (compared at the one-second precision of date_sent).
//   - PageSize (1..1000, default 50), Page, PageToken. next_page_uri
//     carries PageToken "PA"+SID of the last message on the page, so paging
//     is stable while new messages arrive; without a token, Page*PageSize
//     is the offset.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, apiPath string) {
	q := r.URL.Query()
	type dateFilter struct {
		name string
		keep func(sent time.Time, t time.Time, dateOnly bool) bool
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	filters := []dateFilter{
		{"DateSent", func(sent, t time.Time, _ bool) bool { return day(sent).Equal(day(t)) }},
		{"DateSent>", func(sent, t time.Time, dateOnly bool) bool {
			if dateOnly {
				return !sent.Before(day(t))
			}
			return !sent.Before(t)
		}},
		{"DateSent<", func(sent, t time.Time, dateOnly bool) bool {
			if dateOnly {
				return sent.Before(day(t).AddDate(0, 0, 1))
			}
			return !sent.After(t)
		}},
	}
	type activeFilter struct {
		keep     func(sent, t time.Time, dateOnly bool) bool
		t        time.Time
		dateOnly bool
	}
	var active []activeFilter
	for _, f := range filters {
		raw := q.Get(f.name)
		if raw == "" {
			continue
		}
		t, dateOnly, ok := parseDateFilter(raw)
		if !ok {
			writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid "+f.name+" filter: "+raw)
			return
		}
		active = append(active, activeFilter{f.keep, t, dateOnly})
	}

	pageSize := 50
	if raw := q.Get("PageSize"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 1000 {
			writeTwilioError(w, http.StatusBadRequest, 20001, "PageSize must be between 1 and 1000")
			return
		}
		pageSize = n
	}
	page := 0
	if raw := q.Get("Page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			writeTwilioError(w, http.StatusBadRequest, 20001, "Page must be a non-negative integer")
			return
		}
		page = n
	}
	token := q.Get("PageToken")
	to, from := q.Get("To"), q.Get("From")

	s.mu.Lock()
	var matched []*Message
	for i := len(s.messages) - 1; i >= 0; i-- { // newest first
		m := s.messages[i]
		if to != "" && m.To != to || from != "" && m.From != from {
			continue
		}
		sent := m.DateCreated.Truncate(time.Second)
		keep := true
		for _, f := range active {
			if !f.keep(sent, f.t, f.dateOnly) {
				keep = false
				break
			}
		}
		if keep {
			matched = append(matched, m)
		}
	}
	start := page * pageSize
	if strings.HasPrefix(token, "PA") {
		start = len(matched) // token of a message no longer listed: empty page
		for i, m := range matched {
			if m.SID == token[2:] {
				start = i + 1
				break
			}
		}
	}
	start = min(start, len(matched))
	end := min(start+pageSize, len(matched))
	pageItems := matched[start:end]
	views := make([]messageJSON, len(pageItems))
	for i, m := range pageItems {
		views[i] = s.messageJSONLocked(m)
	}
	s.mu.Unlock()

	// Canonical query for first/next/previous page URIs, filters first.
	pageURI := func(page int, token string) string {
		var parts []string
		for _, name := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
			if v := q.Get(name); v != "" {
				parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(v))
			}
		}
		parts = append(parts, "PageSize="+strconv.Itoa(pageSize), "Page="+strconv.Itoa(page))
		if token != "" {
			parts = append(parts, "PageToken="+url.QueryEscape(token))
		}
		return apiPath + "?" + strings.Join(parts, "&")
	}
	resp := listMessagesJSON{
		Messages:     views,
		Start:        start,
		End:          max(start, end-1),
		FirstPageURI: pageURI(0, ""),
		Page:         page,
		PageSize:     pageSize,
		URI:          apiPath,
	}
	if r.URL.RawQuery != "" {
		resp.URI += "?" + r.URL.RawQuery
	}
	if end < len(matched) {
		next := pageURI(page+1, "PA"+pageItems[len(pageItems)-1].SID)
		resp.NextPageURI = &next
	}
	if page > 0 {
		prev := pageURI(page-1, "")
		resp.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseDateFilter parses a DateSent filter value: RFC 3339 (what twilio-go
// sends), YYYY-MM-DD or RFC 2822.
func parseDateFilter(v string) (t time.Time, dateOnly bool, ok bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), false, true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, true
	}
	if t, err := time.Parse(rfc2822, v); err == nil {
		return t.UTC(), false, true
	}
	return time.Time{}, false, false
}
