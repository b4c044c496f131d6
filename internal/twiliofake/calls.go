package twiliofake

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Call is an outbound call the fake accepted through the REST API. The fake
// records calls only; it never dials, fetches Url or sends call status
// callbacks.
type Call struct {
	SID                 string // "CA"+32 hex
	AccountSID          string
	From                string
	To                  string
	URL                 string // Url parameter (TwiML document URL), if given
	Twiml               string // Twiml parameter, if given
	Status              string // always "queued"
	StatusCallback      string
	StatusCallbackEvent []string
	DateCreated         time.Time
}

func (c *Call) clone() Call {
	out := *c
	out.StatusCallbackEvent = slices.Clone(c.StatusCallbackEvent)
	return out
}

// Calls returns copies of every call accepted so far, in acceptance order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.clone()
	}
	return out
}

// WaitCalls blocks until at least n calls have been accepted, then returns
// copies of all of them. It returns ctx's error if ctx ends first.
func (s *Server) WaitCalls(ctx context.Context, n int) ([]Call, error) {
	var out []Call
	err := s.waitUntil(ctx, func() bool {
		if len(s.calls) < n {
			return false
		}
		out = make([]Call, len(s.calls))
		for i, c := range s.calls {
			out[i] = c.clone()
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// createCall validates like Twilio (To 21201, From 21213, one of Url, Twiml
// or ApplicationSid 21205) and records the call with status "queued".
// Faults keyed by To apply as for messages.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	if !parsePostForm(w, r) {
		return
	}
	form := r.PostForm
	to, from := form.Get("To"), form.Get("From")

	fault, faulted := s.takeFault(to)
	if faulted && !fault.AcceptThenFail {
		s.answerFault(w, r, fault, to, from)
		return
	}
	switch {
	case to == "":
		writeTwilioError(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
		return
	case from == "":
		writeTwilioError(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
		return
	case form.Get("Url") == "" && form.Get("Twiml") == "" && form.Get("ApplicationSid") == "":
		writeTwilioError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
		return
	}

	c := &Call{
		SID:                 NewSID("CA"),
		AccountSID:          s.accountSID,
		From:                from,
		To:                  to,
		URL:                 form.Get("Url"),
		Twiml:               form.Get("Twiml"),
		Status:              "queued",
		StatusCallback:      form.Get("StatusCallback"),
		StatusCallbackEvent: slices.Clone(form["StatusCallbackEvent"]),
		DateCreated:         s.timestamp(),
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.callIndex[c.SID] = c
	view := callJSONFor(c)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("twiliofake: call accepted", "sid", c.SID, "to", to)

	if faulted {
		s.answerFault(w, r, fault, to, from)
		return
	}
	writeJSON(w, http.StatusCreated, view)
}

func (s *Server) fetchCall(w http.ResponseWriter, sid, apiPath string) {
	s.mu.Lock()
	c, ok := s.callIndex[sid]
	var view callJSON
	if ok {
		view = callJSONFor(c)
	}
	s.mu.Unlock()
	if !ok {
		s.writeNotFound(w, apiPath)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// callJSON is the api.v2010.account.call schema, every property present.
type callJSON struct {
	AccountSID      string            `json:"account_sid"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	CallerName      *string           `json:"caller_name"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	Direction       string            `json:"direction"`
	Duration        *string           `json:"duration"`
	EndTime         *string           `json:"end_time"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	GroupSID        *string           `json:"group_sid"`
	ParentCallSID   *string           `json:"parent_call_sid"`
	PhoneNumberSID  *string           `json:"phone_number_sid"`
	Price           *string           `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	QueueTime       string            `json:"queue_time"`
	SID             string            `json:"sid"`
	StartTime       *string           `json:"start_time"`
	Status          string            `json:"status"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	TrunkSID        *string           `json:"trunk_sid"`
	URI             string            `json:"uri"`
}

func callJSONFor(c *Call) callJSON {
	base := "/" + APIVersion + "/Accounts/" + c.AccountSID + "/Calls/" + c.SID
	sub := map[string]string{}
	for _, name := range []string{"notifications", "recordings", "payments", "events", "siprec", "streams",
		"transcriptions", "user_defined_message_subscriptions", "user_defined_messages"} {
		sub[name] = base + "/" + subresourceNames[name] + ".json"
	}
	created := c.DateCreated.Format(rfc2822)
	return callJSON{
		AccountSID:      c.AccountSID,
		APIVersion:      APIVersion,
		DateCreated:     created,
		DateUpdated:     created,
		Direction:       "outbound-api",
		From:            c.From,
		FromFormatted:   c.From,
		PriceUnit:       "USD",
		QueueTime:       "0",
		SID:             c.SID,
		Status:          c.Status,
		SubresourceURIs: sub,
		To:              c.To,
		ToFormatted:     c.To,
		URI:             base + ".json",
	}
}

var subresourceNames = map[string]string{
	"notifications":                      "Notifications",
	"recordings":                         "Recordings",
	"payments":                           "Payments",
	"events":                             "Events",
	"siprec":                             "Siprec",
	"streams":                            "Streams",
	"transcriptions":                     "Transcriptions",
	"user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
	"user_defined_messages":              "UserDefinedMessages",
}
