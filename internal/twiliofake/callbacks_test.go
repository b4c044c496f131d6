package twiliofake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// received is one webhook as the application saw it.
type received struct {
	path   string
	form   url.Values
	header http.Header
}

// newApp starts a stand-in for the application: it validates
// X-Twilio-Signature with twilio-go's RequestValidator exactly as the
// production middleware does (URL = base URL + raw request URI), answers 403
// on mismatch, and otherwise reports the webhook on the returned channel.
// before, if not nil, runs before the answer (to block the sender).
func newApp(t *testing.T, token string, before func()) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 64)
	v := client.NewRequestValidator(token)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fullURL := "http://" + r.Host + r.URL.RequestURI()
		if !v.ValidateBody(fullURL, body, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if before != nil {
			before()
		}
		ch <- received{path: r.URL.Path, form: form, header: r.Header.Clone()}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response/>`)
	}))
	t.Cleanup(app.Close)
	return app, ch
}

func next(t *testing.T, ctx context.Context, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		t.Fatal("timed out waiting for a webhook")
		return received{}
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDeliverSendsVerifiableCallback(t *testing.T) {
	ctx := testContext(t)
	app, got := newApp(t, testAuthToken, nil)
	s, base := newTestServer(t)
	tw := newTwilio(t, base)

	callback := app.URL + "/twilio/sms/status?tenant=riyadh&x=a+b"
	m, err := tw.Api.CreateMessage(sms(testTo).SetStatusCallback(callback))
	if err != nil {
		t.Fatal(err)
	}
	sid := deref(m.Sid)

	code, err := s.Deliver(ctx, sid, "delivered", 0)
	if err != nil || code != http.StatusOK {
		t.Fatalf("Deliver = %d, %v; want 200", code, err)
	}
	r := next(t, ctx, got)
	want := map[string]string{
		"MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered",
		"AccountSid": testAccountSID, "From": testFrom, "To": testTo, "ApiVersion": "2010-04-01",
	}
	for k, v := range want {
		if r.form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, r.form.Get(k), v)
		}
	}
	if _, ok := r.form["ErrorCode"]; ok {
		t.Error("ErrorCode sent on a delivered callback")
	}
	if _, ok := r.form["MessagingServiceSid"]; ok {
		t.Error("MessagingServiceSid sent for a message without one")
	}
	if tok := r.header.Get("I-Twilio-Idempotency-Token"); !uuidRe.MatchString(tok) {
		t.Errorf("I-Twilio-Idempotency-Token = %q", tok)
	}
	if fetched, err := tw.Api.FetchMessage(sid, nil); err != nil || deref(fetched.Status) != "delivered" {
		t.Fatalf("FetchMessage after Deliver: %v, %v", deref(fetched.Status), err)
	}

	// A failure carries ErrorCode and shows up as error_code.
	code, err = s.Deliver(ctx, sid, "undelivered", 30003)
	if err != nil || code != http.StatusOK {
		t.Fatalf("Deliver(undelivered) = %d, %v", code, err)
	}
	r = next(t, ctx, got)
	if r.form.Get("MessageStatus") != "undelivered" || r.form.Get("ErrorCode") != "30003" {
		t.Fatalf("undelivered callback = %v", r.form)
	}
	fetched, err := tw.Api.FetchMessage(sid, nil)
	if err != nil || deref(fetched.ErrorCode) != 30003 || deref(fetched.ErrorMessage) == "" {
		t.Fatalf("error_code after undelivered = %v / %q, %v", fetched.ErrorCode, deref(fetched.ErrorMessage), err)
	}
	if s.MessagesTo(testTo)[0].ErrorCode != 30003 {
		t.Fatal("Message.ErrorCode not recorded")
	}
}

func TestDeliverSignatureRejectedWithOtherToken(t *testing.T) {
	ctx := testContext(t)
	app, _ := newApp(t, "someOtherToken", nil)
	s, base := newTestServer(t)
	m, err := newTwilio(t, base).Api.CreateMessage(sms(testTo).SetStatusCallback(app.URL + "/status"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.Deliver(ctx, deref(m.Sid), "sent", 0)
	if err != nil || code != http.StatusForbidden {
		t.Fatalf("Deliver to an app with another token = %d, %v; want 403", code, err)
	}
}

func TestDeliverErrors(t *testing.T) {
	ctx := testContext(t)
	s, base := newTestServer(t)
	m, err := newTwilio(t, base).Api.CreateMessage(sms(testTo))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, NewSID("SM"), "sent", 0); !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("unknown SID: %v", err)
	}
	if _, err := s.Deliver(ctx, deref(m.Sid), "teleported", 0); err == nil {
		t.Error("unknown status accepted")
	}
	if _, err := s.Deliver(ctx, deref(m.Sid), "failed", 30007); !errors.Is(err, ErrNoStatusCallback) {
		t.Errorf("no callback: %v", err)
	}
	if got, _ := s.Message(deref(m.Sid)); got.Status != "failed" || got.ErrorCode != 30007 {
		t.Errorf("status not recorded without callback: %+v", got)
	}
}

func TestAutoCallbacksInOrder(t *testing.T) {
	ctx := testContext(t)
	app, got := newApp(t, testAuthToken, nil)
	s, base := newTestServer(t, func(o *Options) { o.AutoCallbacks = true })
	tw := newTwilio(t, base)

	service := NewSID("MG")
	p := (&api.CreateMessageParams{}).SetTo(testTo).SetMessagingServiceSid(service).SetBody("مرحبا").
		SetStatusCallback(app.URL + "/twilio/sms/status")
	m, err := tw.Api.CreateMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	sid := deref(m.Sid)
	for _, want := range []string{"queued", "sent", "delivered"} {
		r := next(t, ctx, got)
		if r.form.Get("MessageSid") != sid || r.form.Get("MessageStatus") != want || r.form.Get("SmsStatus") != want {
			t.Fatalf("callback %v, want %s for %s", r.form, want, sid)
		}
		if r.form.Get("MessagingServiceSid") != service {
			t.Fatalf("MessagingServiceSid = %q", r.form.Get("MessagingServiceSid"))
		}
	}
	if msg, _ := s.Message(sid); msg.Status != "delivered" {
		t.Fatalf("stored status = %q, want delivered", msg.Status)
	}

	// Without a StatusCallback the status still advances.
	quiet, err := tw.Api.CreateMessage(sms("+966500000077"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.waitUntil(ctx, func() bool { return s.msgIndex[deref(quiet.Sid)].Status == "delivered" })
	if err != nil {
		t.Fatalf("status did not reach delivered: %v", err)
	}
}

func TestCloseWaitsForCallbacks(t *testing.T) {
	ctx := testContext(t)
	arrived := make(chan struct{}, 8)
	release := make(chan struct{})
	app, got := newApp(t, testAuthToken, func() {
		arrived <- struct{}{}
		<-release
	})
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken, AutoCallbacks: true})
	base, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTwilio(t, base).Api.CreateMessage(sms(testTo).SetStatusCallback(app.URL + "/s")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived: // first callback is in flight and blocked
	case <-ctx.Done():
		t.Fatal("no callback arrived")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	if n := len(got); n != 3 {
		t.Fatalf("%d callbacks delivered before Close returned, want 3", n)
	}
	if _, err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestShutdownCancelsStuckCallbacks(t *testing.T) {
	block := make(chan struct{})
	arrived := make(chan struct{}, 8)
	app, _ := newApp(t, testAuthToken, func() {
		arrived <- struct{}{}
		<-block
	})
	t.Cleanup(func() { close(block) }) // runs before app.Close (cleanups are LIFO)
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken, AutoCallbacks: true})
	base, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTwilio(t, base).Api.CreateMessage(sms(testTo).SetStatusCallback(app.URL + "/s")); err != nil {
		t.Fatal(err)
	}
	<-arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if msg := s.Messages()[0]; msg.Status != "queued" {
		t.Fatalf("status after cancelled sequence = %q, want queued", msg.Status)
	}
}
