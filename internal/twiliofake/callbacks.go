package twiliofake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxResponseBytes bounds how much of an application's answer is read.
const maxResponseBytes = 10 << 20

// Deliver records that message sid reached status (one of the spec's
// message statuses: "queued", "sent", "delivered", "failed", "undelivered",
// ...) and POSTs the matching signed status callback to the message's
// StatusCallback URL, synchronously, returning the HTTP status code the
// application answered.
//
// The stored message (Messages, the Fetch and List endpoints) shows the new
// status before the callback is sent, as at Twilio. For "failed" and
// "undelivered", a non-zero errorCode (e.g. 30003, 30007, 21610) is stored
// as the message's error_code and sent as the ErrorCode parameter; for other
// statuses errorCode is ignored.
//
// The callback carries the form parameters MessageSid, SmsSid,
// MessageStatus, SmsStatus, AccountSid, From (when the message has one), To,
// ApiVersion, MessagingServiceSid (when set) and ErrorCode (see above), the
// header X-Twilio-Signature = Sign(AuthToken, StatusCallback, params) and a
// fresh I-Twilio-Idempotency-Token header.
//
// Errors: ErrUnknownMessage for an unknown sid; an error for an unknown
// status; ErrNoStatusCallback (status recorded, nothing sent) when the
// message has no StatusCallback; or the transport error of the POST. Any
// HTTP status the application answers, including 4xx/5xx, is returned with
// a nil error.
func (s *Server) Deliver(ctx context.Context, sid, status string, errorCode int) (int, error) {
	if !slices.Contains(messageStatuses, status) {
		return 0, fmt.Errorf("twiliofake: unknown message status %q", status)
	}
	failed := status == "failed" || status == "undelivered"

	now := s.timestamp() // outside the lock: Options.Now is caller code
	s.mu.Lock()
	m, ok := s.msgIndex[sid]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %s", ErrUnknownMessage, sid)
	}
	m.Status = status
	m.DateUpdated = now
	if failed {
		m.ErrorCode = errorCode
	}
	callback := m.StatusCallback
	params := url.Values{
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"AccountSid":    {m.AccountSID},
		"To":            {m.To},
		"ApiVersion":    {APIVersion},
	}
	if m.From != "" {
		params.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		params.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if failed && errorCode != 0 {
		params.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	s.notifyLocked()
	s.mu.Unlock()

	if callback == "" {
		return 0, ErrNoStatusCallback
	}
	code, _, err := s.postSigned(ctx, callback, params)
	if err != nil {
		return 0, err
	}
	s.log.Info("twiliofake: status callback sent", "sid", sid, "status", status, "answer", code)
	return code, nil
}

// autoStatuses is the life of a message in simulator mode.
var autoStatuses = []string{"queued", "sent", "delivered"}

// runAutoCallbacks walks message sid through autoStatuses, one Deliver
// after the other, until done or the server's background context ends.
func (s *Server) runAutoCallbacks(sid string) {
	for _, status := range autoStatuses {
		if s.bgCtx.Err() != nil {
			return
		}
		code, err := s.Deliver(s.bgCtx, sid, status, 0)
		switch {
		case errors.Is(err, ErrNoStatusCallback):
		case err != nil:
			s.log.Warn("twiliofake: status callback failed", "sid", sid, "status", status, "err", err)
		case code >= 400:
			s.log.Warn("twiliofake: status callback rejected", "sid", sid, "status", status, "answer", code)
		}
	}
}

// PostWebhook POSTs params as an application/x-www-form-urlencoded webhook
// to fullURL, as Twilio does for an inbound message or call, and returns
// the application's status code and body (at most 10 MiB of it).
//
// fullURL must be the URL exactly as it would be configured at Twilio, i.e.
// the URL the application reconstructs when it validates the signature. The
// request carries X-Twilio-Signature = Sign(AuthToken, fullURL, params)
// (computed without any "#fragment", which is never sent), a fresh
// I-Twilio-Idempotency-Token, and User-Agent "TwilioProxy/1.1".
func (s *Server) PostWebhook(ctx context.Context, fullURL string, params url.Values) (status int, body []byte, err error) {
	return s.postSigned(ctx, fullURL, params)
}

func (s *Server) postSigned(ctx context.Context, target string, params url.Values) (int, []byte, error) {
	signedURL, _, _ := strings.Cut(target, "#")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, signedURL, strings.NewReader(params.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("twiliofake: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.authToken, signedURL, params))
	req.Header.Set("I-Twilio-Idempotency-Token", newIdempotencyToken())
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("Accept", "*/*")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("twiliofake: POST %s: %w", signedURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("twiliofake: read answer from %s: %w", signedURL, err)
	}
	return resp.StatusCode, body, nil
}

// InboundSMSParams returns the form parameters Twilio sends to a number's
// "A message comes in" webhook when from texts to:
// MessageSid/SmsSid/SmsMessageSid ("SM"+32 hex), AccountSid, From, To, Body,
// NumMedia "0", NumSegments, SmsStatus "received", ApiVersion, and the geo
// fields FromCity/FromState/FromZip/FromCountry and To… (country codes are
// filled for a few prefixes, e.g. "SA" for +966; the rest are empty, as
// Twilio sends them outside North America). For "whatsapp:" senders it adds
// ProfileName, WaId (the sender's digits) and MessageType "text", and
// NumSegments is "1".
//
// The result is a fresh map: callers may override or add values (e.g. a
// fixed MessageSid for an idempotency test, or OptOutType) before passing it
// to PostWebhook.
func (s *Server) InboundSMSParams(from, to, body string) url.Values {
	sid := NewSID("SM")
	segments := countSegments(body)
	if strings.HasPrefix(from, "whatsapp:") {
		segments = 1
	}
	p := url.Values{
		"MessageSid":    {sid},
		"SmsSid":        {sid},
		"SmsMessageSid": {sid},
		"AccountSid":    {s.accountSID},
		"From":          {from},
		"To":            {to},
		"Body":          {body},
		"NumMedia":      {"0"},
		"NumSegments":   {strconv.Itoa(segments)},
		"SmsStatus":     {"received"},
		"ApiVersion":    {APIVersion},
	}
	addGeo(p, "From", from)
	addGeo(p, "To", to)
	if number, ok := strings.CutPrefix(from, "whatsapp:"); ok {
		p.Set("ProfileName", "Simulated User")
		p.Set("WaId", strings.TrimPrefix(number, "+"))
		p.Set("MessageType", "text")
	}
	return p
}

// InboundCallParams returns the form parameters Twilio sends to a number's
// voice webhook when from calls to: CallSid ("CA"+32 hex), AccountSid, From,
// To, Caller, Called, CallStatus "ringing", Direction "inbound", ApiVersion
// and the geo fields for From, To, Caller and Called. Callers may override
// or add values (e.g. Digits or SpeechResult for a Gather action).
func (s *Server) InboundCallParams(from, to string) url.Values {
	p := url.Values{
		"CallSid":    {NewSID("CA")},
		"AccountSid": {s.accountSID},
		"From":       {from},
		"To":         {to},
		"Caller":     {from},
		"Called":     {to},
		"CallStatus": {"ringing"},
		"Direction":  {"inbound"},
		"ApiVersion": {APIVersion},
	}
	addGeo(p, "From", from)
	addGeo(p, "To", to)
	addGeo(p, "Caller", from)
	addGeo(p, "Called", to)
	return p
}

// countryPrefixes maps E.164 prefixes to ISO country codes for the geo
// parameters. Longer prefixes are checked first.
var countryPrefixes = []struct{ prefix, country string }{
	{"+966", "SA"}, {"+971", "AE"}, {"+965", "KW"}, {"+973", "BH"}, {"+974", "QA"},
	{"+968", "OM"}, {"+962", "JO"}, {"+20", "EG"}, {"+44", "GB"}, {"+1", "US"},
}

func addGeo(p url.Values, role, address string) {
	number := address
	if i := strings.Index(address, ":"); i >= 0 {
		number = address[i+1:]
	}
	country := ""
	for _, c := range countryPrefixes {
		if strings.HasPrefix(number, c.prefix) {
			country = c.country
			break
		}
	}
	p.Set(role+"City", "")
	p.Set(role+"State", "")
	p.Set(role+"Zip", "")
	p.Set(role+"Country", country)
}
