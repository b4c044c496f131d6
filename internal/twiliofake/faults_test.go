package twiliofake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func sms(to string) *api.CreateMessageParams {
	return (&api.CreateMessageParams{}).SetTo(to).SetFrom(testFrom).SetBody("رسالة اختبار")
}

func TestFaultsAsTwilioRestError(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	tests := []struct {
		to     string
		fault  Fault
		status int
		code   int
	}{
		{"+966500000001", Fault{Status: 400, Code: 21610}, 400, 21610},
		{"+966500000002", Fault{Status: 400, Code: 21211}, 400, 21211},
		{"+966500000003", Fault{Status: 400, Code: 21614, Message: "landline"}, 400, 21614},
		{"+966500000004", Fault{Status: 429, Code: 20429}, 429, 20429},
		{"whatsapp:+966500000005", Fault{Status: 400, Code: 63016}, 400, 63016},
	}
	for _, tt := range tests {
		s.SetFault(tt.to, tt.fault)
	}
	for _, tt := range tests {
		_, err := tw.Api.CreateMessage(sms(tt.to))
		te := restError(t, err)
		if te.Status != tt.status || te.Code != tt.code || te.Message == "" {
			t.Errorf("%s: got %+v, want %d/%d", tt.to, te, tt.status, tt.code)
		}
		if tt.fault.Message != "" && te.Message != tt.fault.Message {
			t.Errorf("%s: message %q, want %q", tt.to, te.Message, tt.fault.Message)
		}
	}
	// Faults apply to every request (Times 0), and to calls as well.
	if _, err := tw.Api.CreateMessage(sms("+966500000001")); restError(t, err).Code != 21610 {
		t.Error("permanent fault applied only once")
	}
	_, err := tw.Api.CreateCall((&api.CreateCallParams{}).SetTo("+966500000004").SetFrom(testFrom).SetUrl("https://x.example"))
	if restError(t, err).Status != 429 {
		t.Error("fault did not apply to CreateCall")
	}
	if n := len(s.Messages()) + len(s.Calls()); n != 0 {
		t.Errorf("faulted requests were stored: %d", n)
	}
	// Other numbers are unaffected; ClearFaults lifts the rest.
	if _, err := tw.Api.CreateMessage(sms(testTo)); err != nil {
		t.Fatalf("unfaulted number: %v", err)
	}
	s.ClearFaults()
	if _, err := tw.Api.CreateMessage(sms("+966500000001")); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
}

func TestFaultHTMLBadGatewayIsPlainError(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	s.SetFault(testTo, Fault{Status: http.StatusBadGateway})
	_, err := tw.Api.CreateMessage(sms(testTo))
	if err == nil {
		t.Fatal("no error for 502")
	}
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		t.Fatalf("502 with HTML decoded as TwilioRestError: %+v", te)
	}
	if !strings.Contains(err.Error(), "502") {
		t.Fatalf("error %q does not mention the status", err)
	}
}

func TestFaultTimesOne(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	s.SetFault(testTo, Fault{Status: 500, Code: 20500, Times: 1})
	if _, err := tw.Api.CreateMessage(sms(testTo)); restError(t, err).Status != 500 {
		t.Fatal("first request not faulted")
	}
	m, err := tw.Api.CreateMessage(sms(testTo))
	if err != nil {
		t.Fatalf("second request faulted: %v", err)
	}
	if got := s.Messages(); len(got) != 1 || got[0].SID != deref(m.Sid) {
		t.Fatalf("Messages() = %+v", got)
	}
}

func TestFaultHangHonoursClientDeadline(t *testing.T) {
	s, base := newTestServer(t)
	s.SetFault(testTo, Fault{Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	tw := newTwilio(t, base, func(c *clientConfig) { c.ctx = ctx })
	begin := time.Now()
	_, err := tw.Api.CreateMessage(sms(testTo))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Fatalf("request took %v; the deadline was not honoured", elapsed)
	}

	// The handler goroutine must notice the client left and return.
	wait := testContext(t)
	if err := s.waitUntil(wait, func() bool { return s.hanging == 0 }); err != nil {
		t.Fatalf("hanging handler did not return: %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("a hung (non AcceptThenFail) request stored %d messages", n)
	}
}

func TestFaultHangReleasedByClose(t *testing.T) {
	s := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken})
	base, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	s.SetFault(testTo, Fault{Hang: true})
	tw := newTwilio(t, base)
	done := make(chan error, 1)
	go func() {
		_, err := tw.Api.CreateMessage(sms(testTo))
		done <- err
	}()
	ctx := testContext(t)
	if err := s.waitUntil(ctx, func() bool { return s.hanging == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if te := restError(t, err); te.Status != http.StatusServiceUnavailable {
			t.Fatalf("released request got %+v, want 503", te)
		}
	case <-ctx.Done():
		t.Fatal("Close did not release the hanging request")
	}
}

func TestFaultAcceptThenFail(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	s.SetFault(testTo, Fault{Status: 500, AcceptThenFail: true, Times: 1})
	start := time.Now().Add(-time.Minute)

	_, err := tw.Api.CreateMessage(sms(testTo))
	if err == nil {
		t.Fatal("AcceptThenFail returned success")
	}
	stored := s.MessagesTo(testTo)
	if len(stored) != 1 {
		t.Fatalf("message not stored: %+v", stored)
	}
	// The duplicate-send check an app does before retrying finds it.
	found, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetDateSentAfter(start))
	if err != nil {
		t.Fatalf("ListMessage: %v", err)
	}
	if len(found) != 1 || deref(found[0].Sid) != stored[0].SID || deref(found[0].Body) != "رسالة اختبار" {
		t.Fatalf("ListMessage = %+v, want the accepted message", found)
	}

	// With Hang: stored, and the client times out.
	other := "+966500000009"
	s.SetFault(other, Fault{Hang: true, AcceptThenFail: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	timeoutClient := newTwilio(t, base, func(c *clientConfig) { c.ctx = ctx })
	if _, err := timeoutClient.Api.CreateMessage(sms(other)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if got := s.MessagesTo(other); len(got) != 1 {
		t.Fatalf("AcceptThenFail+Hang stored %d messages, want 1", len(got))
	}

	// Validation still wins over AcceptThenFail.
	s.SetFault("+966500000010", Fault{Status: 500, AcceptThenFail: true})
	_, err = tw.Api.CreateMessage((&api.CreateMessageParams{}).SetTo("+966500000010").SetFrom(testFrom))
	if restError(t, err).Code != 21602 {
		t.Fatalf("err = %v, want 21602", err)
	}
}
