package twiliofake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestPostWebhookInboundSMS(t *testing.T) {
	ctx := testContext(t)
	app, got := newApp(t, testAuthToken, nil)
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken})
	t.Cleanup(func() { _ = s.Close() })

	params := s.InboundSMSParams("+966501112233", "+15005550006", "إلغاء")
	status, body, err := s.PostWebhook(ctx, app.URL+"/twilio/sms?src=sim", params)
	if err != nil || status != http.StatusOK {
		t.Fatalf("PostWebhook = %d, %v", status, err)
	}
	if !strings.Contains(string(body), "<Response/>") {
		t.Fatalf("body = %q", body)
	}
	r := next(t, ctx, got)
	if r.path != "/twilio/sms" {
		t.Errorf("path = %q", r.path)
	}
	want := map[string]string{
		"AccountSid": testAccountSID, "From": "+966501112233", "To": "+15005550006", "Body": "إلغاء",
		"NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
		"FromCountry": "SA", "ToCountry": "US", "FromCity": "",
	}
	for k, v := range want {
		if vals, ok := r.form[k]; !ok || vals[0] != v {
			t.Errorf("%s = %v, want %q", k, vals, v)
		}
	}
	sid := r.form.Get("MessageSid")
	if !isSID(sid, "SM") || r.form.Get("SmsSid") != sid || r.form.Get("SmsMessageSid") != sid {
		t.Errorf("MessageSid/SmsSid/SmsMessageSid = %q/%q/%q", sid, r.form.Get("SmsSid"), r.form.Get("SmsMessageSid"))
	}
	if r.header.Get("I-Twilio-Idempotency-Token") == "" || r.header.Get("X-Twilio-Signature") != Sign(testAuthToken, app.URL+"/twilio/sms?src=sim", params) {
		t.Error("missing idempotency token or unexpected signature")
	}

	// WhatsApp sender, overridden MessageSid (e.g. to test idempotency).
	wa := s.InboundSMSParams("whatsapp:+966501112233", "whatsapp:+15005550006", strings.Repeat("ب", 100))
	wa.Set("MessageSid", "SM00000000000000000000000000000001")
	if status, _, err := s.PostWebhook(ctx, app.URL+"/twilio/whatsapp", wa); err != nil || status != 200 {
		t.Fatalf("PostWebhook(whatsapp) = %d, %v", status, err)
	}
	r = next(t, ctx, got)
	if r.form.Get("WaId") != "966501112233" || r.form.Get("ProfileName") == "" || r.form.Get("NumSegments") != "1" ||
		r.form.Get("MessageSid") != "SM00000000000000000000000000000001" || r.form.Get("FromCountry") != "SA" {
		t.Errorf("whatsapp params = %v", r.form)
	}

	// The receiving side rejects a webhook signed with another token.
	other := New(Options{AccountSID: testAccountSID, AuthToken: "anotherToken1"})
	t.Cleanup(func() { _ = other.Close() })
	if status, _, err := other.PostWebhook(ctx, app.URL+"/twilio/sms", params); err != nil || status != http.StatusForbidden {
		t.Fatalf("foreign signature = %d, %v; want 403", status, err)
	}
}

func TestPostWebhookInboundCall(t *testing.T) {
	ctx := testContext(t)
	app, got := newApp(t, testAuthToken, nil)
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken})
	t.Cleanup(func() { _ = s.Close() })

	p := s.InboundCallParams("+966501112233", "+15005550006")
	p.Set("Digits", "1")
	if status, _, err := s.PostWebhook(ctx, app.URL+"/twilio/voice/gather", p); err != nil || status != 200 {
		t.Fatalf("PostWebhook = %d, %v", status, err)
	}
	r := next(t, ctx, got)
	if !isSID(r.form.Get("CallSid"), "CA") || r.form.Get("CallStatus") != "ringing" || r.form.Get("Direction") != "inbound" ||
		r.form.Get("Caller") != "+966501112233" || r.form.Get("CallerCountry") != "SA" || r.form.Get("Digits") != "1" {
		t.Fatalf("call params = %v", r.form)
	}
}

func TestWaitMessages(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	ctx := testContext(t)

	done := make(chan []Message, 1)
	errc := make(chan error, 1)
	go func() {
		msgs, err := s.WaitMessages(ctx, 2)
		if err != nil {
			errc <- err
			return
		}
		done <- msgs
	}()
	for range 2 {
		if _, err := tw.Api.CreateMessage(sms(testTo)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case msgs := <-done:
		if len(msgs) < 2 {
			t.Fatalf("WaitMessages returned %d", len(msgs))
		}
	case err := <-errc:
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitMessages(cancelled, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitMessages with cancelled ctx = %v", err)
	}
	if msgs, err := s.WaitMessages(cancelled, 2); err != nil || len(msgs) != 2 {
		t.Fatalf("already satisfied WaitMessages = %d, %v", len(msgs), err)
	}

	// Copies: mutating the result does not change the fake.
	msgs := s.Messages()
	msgs[0].Body = "changed"
	if s.Messages()[0].Body == "changed" {
		t.Fatal("Messages returned shared state")
	}

	calls := make(chan []Call, 1)
	go func() {
		c, _ := s.WaitCalls(ctx, 1)
		calls <- c
	}()
	if _, err := tw.Api.CreateCall((&api.CreateCallParams{}).SetTo(testTo).SetFrom(testFrom).SetTwiml("<Response/>")); err != nil {
		t.Fatal(err)
	}
	if c := <-calls; len(c) != 1 || c[0].Twiml != "<Response/>" {
		t.Fatalf("WaitCalls = %+v", c)
	}
}

// The handler works when mounted under a prefix in another mux, as in
// simulator mode.
func TestServeHTTPMountedUnderPrefix(t *testing.T) {
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken})
	t.Cleanup(func() { _ = s.Close() })
	mux := http.NewServeMux()
	mux.Handle("/sim/twilio/", s)
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)

	endpoint := app.URL + "/sim/twilio/2010-04-01/Accounts/" + testAccountSID + "/Messages.json"
	form := url.Values{"To": {testTo}, "From": {testFrom}, "Body": {"hi"}}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testAccountSID, testAuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || body["status"] != "queued" {
		t.Fatalf("status %d, body %v", resp.StatusCode, body)
	}
	if !strings.HasPrefix(body["uri"].(string), "/2010-04-01/Accounts/") {
		t.Fatalf("uri = %v", body["uri"])
	}

	check := func(method, path string, auth bool, wantStatus, wantCode int) {
		t.Helper()
		req, _ := http.NewRequest(method, app.URL+path, nil)
		if auth {
			req.SetBasicAuth(testAccountSID, testAuthToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e twilioError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus || e.Code != wantCode || e.Status != wantStatus {
			t.Errorf("%s %s = %d %+v, want %d/%d", method, path, resp.StatusCode, e, wantStatus, wantCode)
		}
	}
	acct := "/sim/twilio/2010-04-01/Accounts/" + testAccountSID
	check(http.MethodGet, acct+"/Messages.json", false, 401, 20003)
	check(http.MethodDelete, acct+"/Messages.json", true, 405, 20004)
	check(http.MethodGet, acct+"/Calls.json", true, 405, 20004)
	check(http.MethodGet, acct+"/Queues.json", true, 404, 20404)
	check(http.MethodGet, acct+"/Messages/SMnope.json", true, 404, 20404)
	check(http.MethodGet, "/sim/twilio/2010-04-01/Accounts/"+NewSID("AC")+"/Messages.json", true, 404, 20404)
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"no account":       {AuthToken: testAuthToken},
		"bad account":      {AccountSID: "AC123", AuthToken: testAuthToken},
		"no token":         {AccountSID: testAccountSID},
		"non-alphanumeric": {AccountSID: testAccountSID, AuthToken: "tok-en"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			New(opts)
		}()
	}
}

func TestStartTwice(t *testing.T) {
	s, base := newTestServer(t)
	if s.URL() != base || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("URL() = %q, base = %q", s.URL(), base)
	}
	if _, err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
}
