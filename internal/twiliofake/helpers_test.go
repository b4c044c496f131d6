package twiliofake

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "s3cr3tT0kenForTheFake0123456789a"
	testFrom       = "+15005550006"
	testTo         = "+966501234567"
)

// newTestServer starts a fake with test credentials and registers Close.
func newTestServer(t *testing.T, mutate ...func(*Options)) (*Server, string) {
	t.Helper()
	opts := Options{AccountSID: testAccountSID, AuthToken: testAuthToken}
	for _, f := range mutate {
		f(&opts)
	}
	s := New(opts)
	base, err := s.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, base
}

// rewriteTransport sends twilio-go's https://api.twilio.com requests to
// base, optionally binding them to ctx (twilio-go itself uses
// context.Background), and optionally observing each exchange.
type rewriteTransport struct {
	base *url.URL
	ctx  context.Context
	next http.RoundTripper
}

func (t rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if t.ctx != nil {
		ctx = t.ctx
	}
	r = r.Clone(ctx)
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

type clientConfig struct {
	user, pass string
	ctx        context.Context
	next       http.RoundTripper
}

// newTwilio returns a real twilio-go REST client whose requests reach the
// fake at baseURL (see twilio.md §3.2).
func newTwilio(t *testing.T, baseURL string, mutate ...func(*clientConfig)) *twilio.RestClient {
	t.Helper()
	cfg := clientConfig{user: testAccountSID, pass: testAuthToken}
	for _, f := range mutate {
		f(&cfg)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     rewriteTransport{base: u, ctx: cfg.ctx, next: cfg.next},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: client.NewCredentials(cfg.user, cfg.pass), HTTPClient: hc}
	c.SetAccountSid(testAccountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
