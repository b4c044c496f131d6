package twiliofake

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

func restError(t *testing.T, err error) *client.TwilioRestError {
	t.Helper()
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *client.TwilioRestError", err, err)
	}
	return te
}

func TestCreateFetchListMessageThroughTwilioGo(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)

	tests := []struct {
		body     string
		segments string
	}{
		{"مرحبا، تم استلام بلاغك رقم 123", "1"},
		{"شكراً لتواصلكم مع البلدية. كيف تقيّم خدمتنا من 1 إلى 5؟ أرسل رقماً فقط.", "2"},
		{strings.Repeat("x", 161), "2"},
	}
	var sids []string
	for _, tt := range tests {
		p := &api.CreateMessageParams{}
		p.SetTo(testTo).SetFrom(testFrom).SetBody(tt.body).SetStatusCallback("https://app.example/twilio/sms/status")
		m, err := tw.Api.CreateMessage(p)
		if err != nil {
			t.Fatalf("CreateMessage: %v", err)
		}
		sid := deref(m.Sid)
		if !isSID(sid, "SM") {
			t.Errorf("Sid = %q, want SM+32 hex", sid)
		}
		if got := deref(m.Status); got != "queued" {
			t.Errorf("Status = %q, want queued", got)
		}
		if got := deref(m.NumSegments); got != tt.segments {
			t.Errorf("NumSegments for %q = %q, want %q", tt.body, got, tt.segments)
		}
		if deref(m.Body) != tt.body || deref(m.To) != testTo || deref(m.From) != testFrom {
			t.Errorf("echoed body/to/from = %q/%q/%q", deref(m.Body), deref(m.To), deref(m.From))
		}
		if deref(m.Direction) != "outbound-api" || deref(m.AccountSid) != testAccountSID || deref(m.ApiVersion) != "2010-04-01" {
			t.Errorf("direction/account/api_version = %q/%q/%q", deref(m.Direction), deref(m.AccountSid), deref(m.ApiVersion))
		}
		if m.ErrorCode != nil || m.Price != nil || deref(m.PriceUnit) != "USD" || deref(m.NumMedia) != "0" {
			t.Errorf("error_code/price/price_unit/num_media = %v/%v/%q/%q", m.ErrorCode, m.Price, deref(m.PriceUnit), deref(m.NumMedia))
		}
		if _, err := time.Parse(time.RFC1123Z, deref(m.DateCreated)); err != nil || !strings.HasSuffix(deref(m.DateCreated), " +0000") {
			t.Errorf("DateCreated %q is not RFC 2822 in GMT: %v", deref(m.DateCreated), err)
		}
		sids = append(sids, sid)
	}

	got, err := tw.Api.FetchMessage(sids[1], nil)
	if err != nil {
		t.Fatalf("FetchMessage: %v", err)
	}
	if deref(got.Sid) != sids[1] || deref(got.NumSegments) != "2" {
		t.Fatalf("FetchMessage = %q segments %q", deref(got.Sid), deref(got.NumSegments))
	}

	// A message to someone else must not show up in the filtered list.
	other := &api.CreateMessageParams{}
	other.SetTo("+966509999999").SetFrom(testFrom).SetBody("other")
	if _, err := tw.Api.CreateMessage(other); err != nil {
		t.Fatal(err)
	}
	list, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetTo(testTo))
	if err != nil {
		t.Fatalf("ListMessage: %v", err)
	}
	if len(list) != 3 {
		t.Fatalf("ListMessage(To) returned %d messages, want 3", len(list))
	}
	for i, m := range list { // newest first
		if want := sids[len(sids)-1-i]; deref(m.Sid) != want {
			t.Errorf("list[%d] = %s, want %s", i, deref(m.Sid), want)
		}
	}

	recorded := s.MessagesTo(testTo)
	if len(recorded) != 3 || recorded[0].SID != sids[0] || recorded[1].NumSegments != 2 || recorded[0].StatusCallback != "https://app.example/twilio/sms/status" {
		t.Fatalf("MessagesTo = %+v", recorded)
	}
	if n := len(s.Messages()); n != 4 {
		t.Fatalf("Messages() has %d, want 4", n)
	}

	_, err = tw.Api.FetchMessage(NewSID("SM"), nil)
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Fatalf("fetch unknown = %+v, want 404/20404", te)
	}
}

func TestListMessagePagingAndDateFilter(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
	}
	_, base := newTestServer(t, func(o *Options) { o.Now = now })
	tw := newTwilio(t, base)

	var sids []string
	for range 5 {
		p := &api.CreateMessageParams{}
		p.SetTo(testTo).SetFrom(testFrom).SetBody("hi")
		m, err := tw.Api.CreateMessage(p)
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, deref(m.Sid))
		advance(time.Hour)
	}

	// PageSize 2 forces twilio-go to follow next_page_uri twice.
	all, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetTo(testTo).SetPageSize(2))
	if err != nil {
		t.Fatalf("ListMessage: %v", err)
	}
	if len(all) != 5 {
		t.Fatalf("paged ListMessage returned %d, want 5", len(all))
	}
	for i, m := range all {
		if want := sids[4-i]; deref(m.Sid) != want {
			t.Errorf("all[%d] = %s, want %s", i, deref(m.Sid), want)
		}
	}

	// Messages 2,3,4 were created at 12:00, 13:00, 14:00 UTC. A bound given
	// in another zone must be honoured as an instant.
	riyadh := time.FixedZone("AST", 3*3600)
	after := time.Date(2026, 11, 27, 15, 0, 0, 0, riyadh) // 12:00 UTC, inclusive
	recent, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetTo(testTo).SetDateSentAfter(after))
	if err != nil {
		t.Fatalf("ListMessage(DateSentAfter): %v", err)
	}
	if len(recent) != 3 || deref(recent[2].Sid) != sids[2] {
		t.Fatalf("DateSentAfter returned %d messages (%v), want the last 3", len(recent), recent)
	}
	before, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetDateSentBefore(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("DateSentBefore returned %d, want 2", len(before))
	}
	none, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetDateSent(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if len(none) != 0 {
		t.Fatalf("DateSent on another day returned %d", len(none))
	}
	byFrom, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetFrom("+15550000000"))
	if err != nil || len(byFrom) != 0 {
		t.Fatalf("From filter: %d, %v", len(byFrom), err)
	}
}

func TestCreateMessageViaMessagingService(t *testing.T) {
	_, base := newTestServer(t)
	tw := newTwilio(t, base)
	service := NewSID("MG")
	p := &api.CreateMessageParams{}
	p.SetTo(testTo).SetMessagingServiceSid(service).SetBody("hello")
	m, err := tw.Api.CreateMessage(p)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if deref(m.Status) != "accepted" || m.From != nil || deref(m.MessagingServiceSid) != service || deref(m.NumSegments) != "0" {
		t.Fatalf("status/from/service/segments = %q/%v/%q/%q", deref(m.Status), m.From, deref(m.MessagingServiceSid), deref(m.NumSegments))
	}

	media := &api.CreateMessageParams{}
	media.SetTo("whatsapp:" + testTo).SetFrom("whatsapp:" + testFrom).SetMediaUrl([]string{"https://example.com/a.jpg"})
	mm, err := tw.Api.CreateMessage(media)
	if err != nil {
		t.Fatalf("CreateMessage(media): %v", err)
	}
	if !isSID(deref(mm.Sid), "MM") || deref(mm.NumMedia) != "1" || deref(mm.NumSegments) != "1" {
		t.Fatalf("media message sid/num_media/segments = %q/%q/%q", deref(mm.Sid), deref(mm.NumMedia), deref(mm.NumSegments))
	}
}

func TestCreateMessageValidation(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	tests := []struct {
		name   string
		params *api.CreateMessageParams
		code   int
	}{
		{"missing To", (&api.CreateMessageParams{}).SetFrom(testFrom).SetBody("x"), 21604},
		{"invalid To", (&api.CreateMessageParams{}).SetTo("0501234567").SetFrom(testFrom).SetBody("x"), 21211},
		{"missing From", (&api.CreateMessageParams{}).SetTo(testTo).SetBody("x"), 21603},
		{"missing Body", (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom), 21602},
		{"body too long", (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody(strings.Repeat("ب", 1601)), 21617},
	}
	for _, tt := range tests {
		_, err := tw.Api.CreateMessage(tt.params)
		te := restError(t, err)
		if te.Status != http.StatusBadRequest || te.Code != tt.code || te.Message == "" || !strings.HasSuffix(te.MoreInfo, "/errors/"+strconv.Itoa(tt.code)) {
			t.Errorf("%s: got %+v, want 400/%d", tt.name, te, tt.code)
		}
	}
	// 1600 characters exactly is fine.
	p := (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody(strings.Repeat("ب", 1600))
	if _, err := tw.Api.CreateMessage(p); err != nil {
		t.Fatalf("1600-char body: %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("rejected messages were stored: %d", n)
	}
}

func TestCreateAndFetchCallThroughTwilioGo(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)

	p := &api.CreateCallParams{}
	p.SetTo(testTo).SetFrom(testFrom).SetUrl("https://app.example/twilio/voice/outbound").
		SetStatusCallback("https://app.example/twilio/voice/status").
		SetStatusCallbackEvent([]string{"initiated", "completed"})
	c, err := tw.Api.CreateCall(p)
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	if !isSID(deref(c.Sid), "CA") || deref(c.Status) != "queued" || deref(c.To) != testTo || deref(c.Direction) != "outbound-api" {
		t.Fatalf("call sid/status/to/direction = %q/%q/%q/%q", deref(c.Sid), deref(c.Status), deref(c.To), deref(c.Direction))
	}

	tp := &api.CreateCallParams{}
	tp.SetTo(testTo).SetFrom(testFrom).SetTwiml(`<Response><Say language="arb">مرحبا</Say></Response>`)
	if _, err := tw.Api.CreateCall(tp); err != nil {
		t.Fatalf("CreateCall(Twiml): %v", err)
	}

	calls := s.Calls()
	if len(calls) != 2 {
		t.Fatalf("Calls() = %d, want 2", len(calls))
	}
	if calls[0].URL != "https://app.example/twilio/voice/outbound" || calls[0].StatusCallback == "" ||
		len(calls[0].StatusCallbackEvent) != 2 || calls[1].Twiml == "" || calls[1].URL != "" {
		t.Fatalf("recorded calls = %+v", calls)
	}

	f, err := tw.Api.FetchCall(deref(c.Sid), nil)
	if err != nil || deref(f.Sid) != deref(c.Sid) {
		t.Fatalf("FetchCall = %v, %v", f, err)
	}

	_, err = tw.Api.CreateCall((&api.CreateCallParams{}).SetTo(testTo).SetFrom(testFrom))
	if te := restError(t, err); te.Status != 400 || te.Code != 21205 {
		t.Fatalf("call without Url = %+v, want 400/21205", te)
	}
	_, err = tw.Api.CreateCall((&api.CreateCallParams{}).SetTo(testTo).SetUrl("https://x.example"))
	if te := restError(t, err); te.Code != 21213 {
		t.Fatalf("call without From = %+v, want 21213", te)
	}
}

func TestAuthentication(t *testing.T) {
	apiKey, apiSecret := NewSID("SK"), NewAuthToken()
	_, base := newTestServer(t, func(o *Options) { o.APIKeys = map[string]string{apiKey: apiSecret} })
	params := func() *api.CreateMessageParams {
		return (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody("x")
	}

	wrong := newTwilio(t, base, func(c *clientConfig) { c.pass = "wrongtoken" })
	_, err := wrong.Api.CreateMessage(params())
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 || te.Message != "Authenticate" ||
		te.MoreInfo != "https://www.twilio.com/docs/errors/20003" {
		t.Fatalf("wrong token = %+v, want 401/20003", te)
	}
	_, err = wrong.Api.FetchMessage(NewSID("SM"), nil)
	if te := restError(t, err); te.Status != 401 {
		t.Fatalf("wrong token on GET = %+v", te)
	}

	withKey := newTwilio(t, base, func(c *clientConfig) { c.user, c.pass = apiKey, apiSecret })
	if _, err := withKey.Api.CreateMessage(params()); err != nil {
		t.Fatalf("API key rejected: %v", err)
	}
	badKey := newTwilio(t, base, func(c *clientConfig) { c.user, c.pass = apiKey, "nope" })
	if _, err := badKey.Api.CreateMessage(params()); restError(t, err).Code != 20003 {
		t.Fatal("wrong API key secret accepted")
	}

	good := newTwilio(t, base)
	otherAccount := params().SetPathAccountSid(NewSID("AC"))
	_, err = good.Api.CreateMessage(otherAccount)
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Fatalf("other account = %+v, want 404/20404", te)
	}
}

func TestConcurrentCreates(t *testing.T) {
	s, base := newTestServer(t)
	tw := newTwilio(t, base)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody("msg " + strconv.Itoa(i))
			if _, err := tw.Api.CreateMessage(p); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range s.Messages() {
		seen[m.SID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}
}
