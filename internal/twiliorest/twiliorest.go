// Package twiliorest is Tawasul's one way to Twilio's REST API. It wraps
// twilio-go's client so that every request goes to a configurable base URL
// (Twilio, a regional edge, or the built-in simulator) and is bound to the
// caller's context, which twilio-go itself does not support: River cancels a
// job's context on shutdown or timeout, and the request stops with it.
//
// It only sends and looks up; what to do with an error is the caller's
// decision, helped by Classify.
package twiliorest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// Client sends messages. Its zero value is not usable; build one with New.
type Client struct {
	accountSID string
	authToken  string
	base       *url.URL // nil: twilio-go's own https://api.twilio.com
	next       http.RoundTripper
	timeout    time.Duration
}

// Config says which account to use and where its API lives.
type Config struct {
	AccountSID string
	AuthToken  string
	BaseURL    string        // "" for Twilio itself; e.g. "http://127.0.0.1:4010" for a fake
	Timeout    time.Duration // per request; 0 means 15 s
	Transport  http.RoundTripper
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	c := &Client{accountSID: cfg.AccountSID, authToken: cfg.AuthToken, next: cfg.Transport, timeout: cfg.Timeout}
	if c.accountSID == "" || c.authToken == "" {
		return nil, errors.New("twiliorest: account SID and auth token are required")
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("twiliorest: bad base URL %q", cfg.BaseURL)
		}
		c.base = u
	}
	if c.next == nil {
		c.next = http.DefaultTransport
	}
	if c.timeout == 0 {
		c.timeout = 15 * time.Second
	}
	return c, nil
}

// AccountSID is the account the client acts for.
func (c *Client) AccountSID() string { return c.accountSID }

// ctxTransport rebinds every request to ctx and, with a base URL, sends it
// there instead of the host twilio-go hard-codes.
type ctxTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	}
	return t.next.RoundTrip(r)
}

// rest returns a twilio-go client for requests bound to ctx. It is cheap:
// the transport (and its connection pool) is shared.
func (c *Client) rest(ctx context.Context) *twilio.RestClient {
	hc := &http.Client{
		Timeout:       c.timeout,
		Transport:     ctxTransport{ctx: ctx, base: c.base, next: c.next},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tc := &client.Client{Credentials: client.NewCredentials(c.accountSID, c.authToken), HTTPClient: hc}
	tc.SetAccountSid(c.accountSID) // NewRestClientWithParams does not when given a Client
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: tc})
}

// Message is one message to send. Exactly one of From and
// MessagingServiceSID is set; WhatsApp addresses carry the "whatsapp:"
// prefix in both To and From.
type Message struct {
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string // URL Twilio posts delivery statuses to
}

// Sent is what Twilio said about an accepted message.
type Sent struct {
	SID    string
	Status string // queued, accepted, sent, …
}

// Send creates the message at Twilio. On error nothing is known about
// whether Twilio accepted it unless Classify says the error is permanent;
// look it up with FindSent before sending again.
func (c *Client) Send(ctx context.Context, m Message) (*Sent, error) {
	p := &api.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Body)
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	if m.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(m.MessagingServiceSID)
	} else {
		p.SetFrom(m.From)
	}
	res, err := c.rest(ctx).Api.CreateMessage(p)
	if err != nil {
		return nil, clean(err)
	}
	if res.Sid == nil {
		return nil, errors.New("twiliorest: Twilio accepted a message but returned no SID")
	}
	s := &Sent{SID: *res.Sid}
	if res.Status != nil {
		s.Status = *res.Status
	}
	return s, nil
}

// FindSent looks for a message to to with exactly body that Twilio created
// at or after since — the first copy of a message whose create request
// failed ambiguously (timeout, 5xx) — skipping SIDs for which known
// reports true (messages Tawasul already accounts for, such as an earlier
// message with the same text). found is false when there is none.
//
// It lists the recipient's newest messages and filters on date_created
// itself: Twilio's DateSent filter would miss a message still queued, which
// is exactly the case after a timeout.
func (c *Client) FindSent(ctx context.Context, to, body string, since time.Time, known func(sid string) (bool, error)) (s *Sent, found bool, err error) {
	p := &api.ListMessageParams{}
	p.SetTo(to).SetPageSize(50).SetLimit(100)
	list, err := c.rest(ctx).Api.ListMessage(p)
	if err != nil {
		return nil, false, clean(err)
	}
	for _, m := range list {
		if m.Sid == nil || m.Body == nil || *m.Body != body || !createdSince(m.DateCreated, since) {
			continue
		}
		if k, err := known(*m.Sid); err != nil {
			return nil, false, err
		} else if k {
			continue
		}
		s := &Sent{SID: *m.Sid}
		if m.Status != nil {
			s.Status = *m.Status
		}
		return s, true, nil
	}
	return nil, false, nil
}

// createdSince reports whether an RFC 2822 date_created is at or after t.
func createdSince(dateCreated *string, t time.Time) bool {
	if dateCreated == nil {
		return true // no date: let the body and SID decide
	}
	d, err := time.Parse(time.RFC1123Z, *dateCreated)
	return err != nil || !d.Before(t.Truncate(time.Second))
}

// clean strips the request URL from transport errors: twilio-go's GET
// requests carry the recipient's number in the query string, and these
// errors end up in job rows and on staff pages.
func clean(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("twilio %s request failed: %w", ue.Op, ue.Err)
	}
	return err
}

// phoneLike matches phone numbers quoted in Twilio's error messages.
var phoneLike = regexp.MustCompile(`\+?\d[\d ]{6,18}\d`)

// redact masks phone numbers in text from Twilio, keeping the last two
// digits, so it can be stored and shown to staff.
func redact(text string) string {
	return phoneLike.ReplaceAllStringFunc(text, func(m string) string {
		return "…" + m[len(m)-2:]
	})
}

// Outcome is what a caller should do after a failed request.
type Outcome int

// Outcomes of Classify.
const (
	// Retry: the outcome is unknown or temporary (network error, timeout,
	// 5xx, 429). Try again later — after FindSent, for sends.
	Retry Outcome = iota
	// OptedOut: the recipient has unsubscribed (21610). Never send again
	// until they opt in.
	OptedOut
	// InvalidNumber: the recipient cannot get SMS (21211 invalid, 21614 not
	// mobile). Flag the number.
	InvalidNumber
	// ConfigError: Tawasul's Twilio settings are wrong (credentials, sender,
	// geo permissions). Nothing will work until an admin fixes them.
	ConfigError
	// Rejected: Twilio refused this particular message for good (e.g. body
	// too long, unroutable pair).
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Retry:
		return "retry"
	case OptedOut:
		return "opted_out"
	case InvalidNumber:
		return "invalid_number"
	case ConfigError:
		return "config_error"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// configCodes are errors only an admin can fix.
var configCodes = map[int]bool{
	20003: true, // authentication failed
	20404: true, // account (or resource) not found: wrong account SID
	20008: true, // test credentials cannot do this
	21212: true, // invalid From number
	21603: true, // From is required
	21606: true, // From is not a valid sender for this account/destination
	21408: true, // geo permission for the destination not enabled
	21222: true, // twilio-go: illegal characters in the username
	21224: true, // twilio-go: illegal characters in the password
	21659: true, // From is not a Twilio number
	63007: true, // WhatsApp sender not found
}

// Classify says what err from Send or FindSent means, with Twilio's error
// code and message when Twilio gave one (code 0 otherwise). Phone numbers
// in the message are masked.
func Classify(err error) (o Outcome, code int, message string) {
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		// Network errors, timeouts, cancelled contexts and non-JSON error
		// bodies (a proxy's HTML 502): outcome unknown.
		return Retry, 0, redact(clean(err).Error())
	}
	msg := redact(te.Message)
	switch {
	case te.Code == 21610:
		return OptedOut, te.Code, msg
	case te.Code == 21211 || te.Code == 21614:
		return InvalidNumber, te.Code, msg
	case configCodes[te.Code]:
		return ConfigError, te.Code, msg
	case te.Code == 20429 || te.Status == http.StatusTooManyRequests || te.Status >= 500:
		return Retry, te.Code, msg
	}
	return Rejected, te.Code, msg
}

// mediaPath is the path of an attachment of an inbound message on Twilio's
// REST API (the account is checked separately).
var mediaPath = regexp.MustCompile(`^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/(?:MM|SM)[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}$`)

// ErrNotMedia is Media's answer for a URL that is not an attachment of this
// account's messages; nothing was fetched.
var ErrNotMedia = errors.New("twiliorest: not a media URL of this account")

// Media fetches an attachment of an inbound message, given its URL as
// Twilio's webhook gave it (MediaUrl{N}). Only the URL's path is used: it
// must be one of this account's message media, and it is requested from
// the client's base URL (Twilio itself, or the simulator) with the
// account's credentials, so a URL cannot make Tawasul fetch anything else.
// Twilio answers with a redirect to the file; Media follows at most two,
// to https (or back to the base URL's own scheme and host, as the
// simulator does), never with the credentials. The client's timeout bounds
// the wait for the response's headers, and then each wait for more of the
// body (a slow file keeps coming; a stalled one fails); ctx bounds the
// whole. The caller closes the body; a status other than 200 is an error.
func (c *Client) Media(ctx context.Context, mediaURL string) (*http.Response, error) {
	u, err := url.Parse(mediaURL)
	if err != nil {
		return nil, ErrNotMedia
	}
	m := mediaPath.FindStringSubmatch(u.Path)
	if m == nil || m[1] != c.accountSID {
		return nil, ErrNotMedia
	}
	target := url.URL{Scheme: "https", Host: "api.twilio.com", Path: u.Path}
	if c.base != nil {
		target.Scheme, target.Host = c.base.Scheme, c.base.Host
	}
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	req.SetBasicAuth(c.accountSID, c.authToken)
	hc := &http.Client{Transport: c.next, CheckRedirect: func(next *http.Request, via []*http.Request) error {
		next.Header.Del("Authorization")
		sameOrigin := next.URL.Scheme == target.Scheme && next.URL.Host == target.Host
		if len(via) > 2 || (next.URL.Scheme != "https" && !sameOrigin) {
			return ErrMediaRedirect
		}
		return nil
	}}
	stall := time.AfterFunc(c.timeout, func() { cancel(ErrMediaTimeout) })
	res, err := hc.Do(req)
	if !stall.Stop() && err == nil {
		res.Body.Close()
		err = ErrMediaTimeout // the headers came just as time ran out
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		cancel(nil)
		return nil, fmt.Errorf("twiliorest: fetch media: %w", clean(err))
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("twiliorest: fetch media: status %d", res.StatusCode)
	}
	res.Body = &mediaBody{ReadCloser: res.Body, stall: time.AfterFunc(c.timeout, func() { cancel(ErrMediaTimeout) }),
		idle: c.timeout, cancel: cancel}
	return res, nil
}

// Errors of Media besides ErrNotMedia.
var (
	ErrMediaTimeout  = errors.New("twiliorest: media: Twilio stopped answering")
	ErrMediaRedirect = errors.New("twiliorest: media redirect refused")
)

// mediaBody is a media response's body: each read must bring something
// within idle of its start, or the request is cancelled (the time between
// reads, while the caller passes the file on to a slow browser, does not
// count); Close ends it.
type mediaBody struct {
	io.ReadCloser
	stall  *time.Timer
	idle   time.Duration
	cancel context.CancelCauseFunc
}

func (b *mediaBody) Read(p []byte) (int, error) {
	b.stall.Reset(b.idle)
	n, err := b.ReadCloser.Read(p)
	b.stall.Stop() // the time the caller takes to pass the part on is not Twilio's
	return n, err
}

func (b *mediaBody) Close() error {
	b.stall.Stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
