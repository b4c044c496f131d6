package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"tawasul/internal/dbtest"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
	"tawasul/internal/twiliorest"
)

const (
	testToken    = "senderTestToken1"
	testCallback = "https://tawasul.example.gov.sa/twilio/sms/status"
	testFrom     = "+966920000940"
)

// sendFixture is a database, a fake Twilio (no automatic callbacks) and a
// worker pointed at it.
type sendFixture struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	fake   *twiliofake.Server
	worker *SendMessageWorker
	river  *river.Client[pgx.Tx] // insert-only
}

func newSendFixture(t *testing.T) *sendFixture {
	t.Helper()
	pool := dbtest.Pool(t)
	sid := twiliofake.NewSID("AC")
	fake := twiliofake.New(twiliofake.Options{AccountSID: sid, AuthToken: testToken})
	base, err := fake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	tc, err := twiliorest.New(twiliorest.Config{AccountSID: sid, AuthToken: testToken, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &sendFixture{pool: pool, store: postgres.New(pool), fake: fake, river: rc,
		worker: &SendMessageWorker{pool: pool, log: slog.New(slog.DiscardHandler), sender: &Sender{
			Twilio: tc, From: testFrom, WhatsAppFrom: "whatsapp:" + testFrom, StatusCallback: testCallback}}}
}

// queue stores a pending message for phone (creating the contact) through
// QueueMessage and returns it.
func (f *sendFixture) queue(t *testing.T, phone string, ch tawasul.Channel, body string) *tawasul.Message {
	t.Helper()
	ctx := context.Background()
	c, err := f.store.InboundTake(ctx, phone, "ar", false, "SM00000000000000000000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	m := &tawasul.Message{ContactID: c.ContactID, Channel: ch, Body: body, Purpose: "test"}
	err = pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error { return QueueMessage(ctx, tx, f.river, m) })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// work runs the job for message id as attempt n of sendMaxAttempts.
func (f *sendFixture) work(ctx context.Context, id int64, attempt int) error {
	return f.worker.Work(ctx, &river.Job[SendMessageArgs]{
		JobRow: &rivertype.JobRow{ID: id, Attempt: attempt, MaxAttempts: sendMaxAttempts, Kind: "send_message"},
		Args:   SendMessageArgs{MessageID: id}})
}

func (f *sendFixture) message(t *testing.T, id int64) *postgres.Outbound {
	t.Helper()
	m, err := f.store.OutboundForSend(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func isCancel(err error) bool {
	var jc *river.JobCancelError
	return errors.As(err, &jc)
}

func TestSendMessageSendsOnceWithStatusCallback(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	m := f.queue(t, "+966551230001", tawasul.ChannelSMS, "تم استلام بلاغك")
	if err := f.work(context.Background(), m.ID, 1); err != nil {
		t.Fatal(err)
	}
	sent := f.fake.MessagesTo("+966551230001")
	if len(sent) != 1 || sent[0].Body != "تم استلام بلاغك" || sent[0].From != testFrom || sent[0].StatusCallback != testCallback {
		t.Fatalf("fake got %+v", sent)
	}
	got := f.message(t, m.ID)
	if got.TwilioSID == nil || *got.TwilioSID != sent[0].SID || got.Status != "queued" || got.Attempts != 1 {
		t.Fatalf("row after send: sid %v status %q attempts %d", got.TwilioSID, got.Status, got.Attempts)
	}
	// The same job again (River re-running it, a duplicate enqueue) sends nothing.
	if err := f.work(context.Background(), m.ID, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.Messages()); n != 1 {
		t.Fatalf("second run sent again: %d messages", n)
	}
}

func TestSendMessageWhatsAppAddresses(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	m := f.queue(t, "+966551230002", tawasul.ChannelWhatsApp, "hello")
	if err := f.work(context.Background(), m.ID, 1); err != nil {
		t.Fatal(err)
	}
	sent := f.fake.MessagesTo("whatsapp:+966551230002")
	if len(sent) != 1 || sent[0].From != "whatsapp:"+testFrom {
		t.Fatalf("whatsapp send: %+v", f.fake.Messages())
	}
}

func TestSendMessageErrorClassification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		fault       twiliofake.Fault
		wantStatus  string
		wantCode    int
		optedOut    bool
		invalid     bool
		alert       bool
		nowQueueErr string // what QueueMessage says for this contact afterwards
	}{
		{name: "21610 unsubscribed", fault: twiliofake.Fault{Status: 400, Code: 21610}, wantStatus: "failed", wantCode: 21610,
			optedOut: true, nowQueueErr: tawasul.ECONFLICT},
		{name: "21211 invalid number", fault: twiliofake.Fault{Status: 400, Code: 21211}, wantStatus: "failed", wantCode: 21211,
			invalid: true, nowQueueErr: tawasul.ECONFLICT},
		{name: "21614 not mobile", fault: twiliofake.Fault{Status: 400, Code: 21614}, wantStatus: "failed", wantCode: 21614,
			invalid: true, nowQueueErr: tawasul.ECONFLICT},
		{name: "20003 credentials", fault: twiliofake.Fault{Status: 401, Code: 20003}, wantStatus: "failed", wantCode: 20003,
			alert: true},
		{name: "21606 sender", fault: twiliofake.Fault{Status: 400, Code: 21606}, wantStatus: "failed", wantCode: 21606,
			alert: true},
		{name: "21408 geo permission", fault: twiliofake.Fault{Status: 400, Code: 21408}, wantStatus: "failed", wantCode: 21408,
			alert: true},
		{name: "21617 too long", fault: twiliofake.Fault{Status: 400, Code: 21617}, wantStatus: "failed", wantCode: 21617},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSendFixture(t)
			phone := "+96655124000" + string(rune('0'+i))
			f.fake.SetFault(phone, tc.fault)
			m := f.queue(t, phone, tawasul.ChannelSMS, "x")
			err := f.work(context.Background(), m.ID, 1)
			if !isCancel(err) {
				t.Fatalf("want the job cancelled, got %v", err)
			}
			got := f.message(t, m.ID)
			if got.Status != tc.wantStatus || got.ErrorCode == nil || *got.ErrorCode != tc.wantCode {
				t.Fatalf("row: status %q code %v", got.Status, got.ErrorCode)
			}
			if got.OptedOut != tc.optedOut || got.Invalid != tc.invalid {
				t.Fatalf("contact: opted out %v invalid %v", got.OptedOut, got.Invalid)
			}
			alerts, err := f.store.AlertsOpen(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.alert != (len(alerts) == 1 && alerts[0].Code == tc.wantCode) {
				t.Fatalf("alerts: %+v", alerts)
			}
			if len(f.fake.Messages()) != 0 {
				t.Fatal("a refused message was stored by the fake")
			}
			if tc.nowQueueErr != "" {
				c, _ := f.store.ContactByPhone(context.Background(), phone)
				err := pgx.BeginFunc(context.Background(), f.pool, func(tx pgx.Tx) error {
					return QueueMessage(context.Background(), tx, f.river, &tawasul.Message{ContactID: c.ID, Channel: tawasul.ChannelSMS, Body: "y"})
				})
				if tawasul.ErrorCode(err) != tc.nowQueueErr {
					t.Fatalf("queueing to this contact afterwards: %v", err)
				}
			}
		})
	}
}

func TestSendMessageConfigAlertCountsRepeats(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	for i := range 3 {
		phone := "+96655125000" + string(rune('0'+i))
		f.fake.SetFault(phone, twiliofake.Fault{Status: 401, Code: 20003})
		m := f.queue(t, phone, tawasul.ChannelSMS, "x")
		if err := f.work(context.Background(), m.ID, 1); !isCancel(err) {
			t.Fatal(err)
		}
	}
	alerts, err := f.store.AlertsOpen(context.Background())
	if err != nil || len(alerts) != 1 || alerts[0].Count != 3 {
		t.Fatalf("want one alert seen 3 times, got %+v %v", alerts, err)
	}
}

func TestSendMessageRetriesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	cases := map[string]twiliofake.Fault{
		// Never processed: the retry sends.
		"429":            {Status: 429, Code: 20429, Times: 1},
		"500 not stored": {Status: 500, Code: 20500, Times: 1},
		"proxy 502 html": {Status: 502, Times: 1},
		// Twilio accepted it but the answer was lost: the retry must find
		// and adopt it, not send a second copy.
		"500 after accepting": {Status: 500, Code: 20500, Times: 1, AcceptThenFail: true},
	}
	i := 0
	for name, fault := range cases {
		phone := "+96655126000" + string(rune('0'+i))
		i++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newSendFixture(t)
			f.fake.SetFault(phone, fault)
			m := f.queue(t, phone, tawasul.ChannelSMS, "رسالة واحدة فقط")
			err := f.work(context.Background(), m.ID, 1)
			if err == nil || isCancel(err) {
				t.Fatalf("first attempt: want a retryable error, got %v", err)
			}
			if got := f.message(t, m.ID); got.Status != "pending" {
				t.Fatalf("after a temporary failure the message is %q", got.Status)
			}
			if err := f.work(context.Background(), m.ID, 2); err != nil {
				t.Fatalf("second attempt: %v", err)
			}
			sent := f.fake.MessagesTo(phone)
			if len(sent) != 1 {
				t.Fatalf("Twilio holds %d copies, want 1", len(sent))
			}
			if got := f.message(t, m.ID); got.TwilioSID == nil || *got.TwilioSID != sent[0].SID {
				t.Fatalf("row SID %v, Twilio's %s", got.TwilioSID, sent[0].SID)
			}
		})
	}
}

func TestSendMessageTimeoutThenRetryAdoptsTheFirstCopy(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	phone := "+966551270001"
	f.fake.SetFault(phone, twiliofake.Fault{Hang: true, AcceptThenFail: true, Times: 1})
	m := f.queue(t, phone, tawasul.ChannelSMS, "مهلة")

	// The job's context ends (River's timeout) while Twilio has accepted the
	// message but not answered.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		if _, err := f.fake.WaitMessages(context.Background(), 1); err == nil {
			cancel()
		}
	}()
	if err := f.work(ctx, m.ID, 1); err == nil || isCancel(err) {
		t.Fatalf("timed-out attempt: want a retryable error, got %v", err)
	}
	cancel()
	if err := f.work(context.Background(), m.ID, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.MessagesTo(phone)); n != 1 {
		t.Fatalf("Twilio holds %d copies after a timeout and a retry, want 1", n)
	}
	if got := f.message(t, m.ID); got.TwilioSID == nil || got.Attempts != 1 {
		t.Fatalf("row: sid %v attempts %d (the retry adopts, it does not call CreateMessage)", got.TwilioSID, got.Attempts)
	}
}

func TestSendMessageGivesUpOnLastAttempt(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	phone := "+966551280001"
	f.fake.SetFault(phone, twiliofake.Fault{Status: 503, Code: 20503})
	m := f.queue(t, phone, tawasul.ChannelSMS, "x")
	if err := f.work(context.Background(), m.ID, sendMaxAttempts); err == nil {
		t.Fatal("want an error")
	}
	if got := f.message(t, m.ID); got.Status != "failed" {
		t.Fatalf("after the last attempt the message is %q, want failed (staff must see it did not go)", got.Status)
	}
}

func TestSendMessageSkipsOptedOutContact(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	m := f.queue(t, "+966551290001", tawasul.ChannelSMS, "x")
	// The resident texts STOP after the message was queued.
	if _, err := f.pool.Exec(context.Background(), `UPDATE contacts SET opted_out_at = now() WHERE id = $1`, m.ContactID); err != nil {
		t.Fatal(err)
	}
	if err := f.work(context.Background(), m.ID, 1); !isCancel(err) {
		t.Fatalf("want cancelled, got %v", err)
	}
	if len(f.fake.Messages()) != 0 {
		t.Fatal("sent to an opted-out contact")
	}
	if got := f.message(t, m.ID); got.Status != "canceled" {
		t.Fatalf("status %q", got.Status)
	}
}

func TestStatusCallbackBeforeSIDIsStored(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	m := f.queue(t, "+966551300001", tawasul.ChannelSMS, "x")
	sid := twiliofake.NewSID("SM")
	code := 30003
	// Twilio calls back before CreateMessage has returned to the worker.
	for _, st := range []string{"sent", "undelivered", "queued"} {
		var c *int
		if st == "undelivered" {
			c = &code
		}
		if err := postgres.New(f.pool).MessageStatusCallback(ctx, sid, st, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.New(f.pool).MessageSent(ctx, m.ID, sid, "queued"); err != nil {
		t.Fatal(err)
	}
	got := f.message(t, m.ID)
	if got.Status != "undelivered" || got.ErrorCode == nil || *got.ErrorCode != 30003 {
		t.Fatalf("early callbacks not applied: status %q code %v", got.Status, got.ErrorCode)
	}
	var held int
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM message_status_early`).Scan(&held)
	if held != 0 {
		t.Fatalf("%d held callbacks left", held)
	}
}

func TestStatusCallback21610OptsOut(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	m := f.queue(t, "+966551310001", tawasul.ChannelSMS, "x")
	if err := f.work(ctx, m.ID, 1); err != nil {
		t.Fatal(err)
	}
	sid := *f.message(t, m.ID).TwilioSID
	code := 21610
	if err := postgres.New(f.pool).MessageStatusCallback(ctx, sid, "failed", &code); err != nil {
		t.Fatal(err)
	}
	if got := f.message(t, m.ID); !got.OptedOut || got.Status != "failed" {
		t.Fatalf("after a 21610 callback: opted out %v status %q", got.OptedOut, got.Status)
	}
}

// TestStatusCallback21610Once: the callback that fails a message with
// 21610 opts the resident out and closes their open question; Twilio
// repeating it after the resident sent START changes nothing.
func TestStatusCallback21610Once(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	st := postgres.New(f.pool)
	m := f.queue(t, "+966551310009", tawasul.ChannelSMS, "x")
	if err := f.work(ctx, m.ID, 1); err != nil {
		t.Fatal(err)
	}
	contactID := f.message(t, m.ID).ContactID
	p := &tawasul.Prompt{ContactID: contactID, Kind: "rating", Token: "callbackoptout", ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.PromptInsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	sid := *f.message(t, m.ID).TwilioSID
	code := 21610
	if err := st.MessageStatusCallback(ctx, sid, "failed", &code); err != nil {
		t.Fatal(err)
	}
	if !f.message(t, m.ID).OptedOut {
		t.Fatal("the 21610 callback did not opt the resident out")
	}
	if _, err := st.PromptOpenForUpdate(ctx, contactID); tawasul.ErrorCode(err) != tawasul.ENOTFOUND {
		t.Fatalf("the question stayed open after the 21610 callback: %v", err)
	}
	if err := st.ContactOptIn(ctx, contactID); err != nil { // the resident sends START
		t.Fatal(err)
	}
	if err := st.MessageStatusCallback(ctx, sid, "failed", &code); err != nil { // Twilio repeats the callback
		t.Fatal(err)
	}
	if f.message(t, m.ID).OptedOut {
		t.Error("a repeated 21610 callback opted the resident out again after START")
	}
	// A callback naming a message the resident sent (not one Tawasul sent)
	// moves nothing, so it opts nobody out.
	inSID := twiliofake.NewSID("SM")
	if _, err := f.pool.Exec(ctx, `INSERT INTO messages (contact_id, direction, channel, body, status, twilio_sid)
		VALUES ($1, 'inbound', 'sms', 'x', 'received', $2)`, contactID, inSID); err != nil {
		t.Fatal(err)
	}
	if err := st.MessageStatusCallback(ctx, inSID, "failed", &code); err != nil {
		t.Fatal(err)
	}
	if f.message(t, m.ID).OptedOut {
		t.Error("a 21610 callback for an inbound message opted its sender out")
	}
}

// TestStatusCallback21610BeforeSIDIsStored: a 21610 that beats the SID
// opts the resident out when the SID is stored.
func TestStatusCallback21610BeforeSIDIsStored(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	m := f.queue(t, "+966551310002", tawasul.ChannelSMS, "x")
	sid := twiliofake.NewSID("SM")
	code := 21610
	if err := postgres.New(f.pool).MessageStatusCallback(ctx, sid, "failed", &code); err != nil {
		t.Fatal(err)
	}
	if got := f.message(t, m.ID); got.OptedOut {
		t.Fatal("opted out before the SID was known to be theirs")
	}
	if err := postgres.New(f.pool).MessageSent(ctx, m.ID, sid, "queued"); err != nil {
		t.Fatal(err)
	}
	if got := f.message(t, m.ID); !got.OptedOut || got.Status != "failed" || got.ErrorCode == nil || *got.ErrorCode != 21610 {
		t.Fatalf("after the held 21610: opted out %v status %q code %v", got.OptedOut, got.Status, got.ErrorCode)
	}
}

// TestMessageSentStatus: storing the SID sets Twilio's status, "queued"
// when Twilio gave none, and never takes a message out of a final status.
func TestMessageSentStatus(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	st := postgres.New(f.pool)
	tests := []struct {
		name, before, twilio, want string
	}{
		{"no status from Twilio", "pending", "", "queued"},
		{"Twilio's status", "pending", "accepted", "accepted"},
		{"failed meanwhile", "failed", "queued", "failed"},
		{"canceled meanwhile", "canceled", "queued", "canceled"},
	}
	for i, tt := range tests {
		m := f.queue(t, fmt.Sprintf("+96655135000%d", i), tawasul.ChannelSMS, "x")
		if _, err := f.pool.Exec(ctx, `UPDATE messages SET status = $2 WHERE id = $1`, m.ID, tt.before); err != nil {
			t.Fatal(err)
		}
		sid := twiliofake.NewSID("SM")
		if err := st.MessageSent(ctx, m.ID, sid, tt.twilio); err != nil {
			t.Fatal(err)
		}
		got := f.message(t, m.ID)
		if got.Status != tt.want {
			t.Errorf("%s: status %q, want %q", tt.name, got.Status, tt.want)
		}
		if got.TwilioSID == nil || *got.TwilioSID != sid {
			t.Errorf("%s: the SID was not stored", tt.name)
		}
	}
}

// TestSendMessageSameTextTwice: a second message with the same text to the
// same resident is its own message: a retry after a failure that never
// reached Twilio must send it, not adopt the first one's SID.
func TestSendMessageSameTextTwice(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	const phone = "+966551320001"
	first := f.queue(t, phone, tawasul.ChannelSMS, "شكراً لتواصلك")
	if err := f.work(context.Background(), first.ID, 1); err != nil {
		t.Fatal(err)
	}
	second := f.queue(t, phone, tawasul.ChannelSMS, "شكراً لتواصلك")
	f.fake.SetFault(phone, twiliofake.Fault{Status: 500, Code: 20500, Times: 1})
	if err := f.work(context.Background(), second.ID, 1); err == nil {
		t.Fatal("want a retryable error")
	}
	if err := f.work(context.Background(), second.ID, 2); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.MessagesTo(phone)); n != 2 {
		t.Fatalf("Twilio holds %d messages, want 2 (one per row)", n)
	}
	a, b := f.message(t, first.ID), f.message(t, second.ID)
	if b.TwilioSID == nil || *b.TwilioSID == *a.TwilioSID {
		t.Fatalf("second message adopted the first one's SID: %v", b.TwilioSID)
	}
}

// TestSendMessageTimeoutOnLastAttempt: the last attempt timing out marks
// the message failed (staff must not see "waiting" forever), and no error
// text kept anywhere carries the resident's number.
func TestSendMessageTimeoutOnLastAttempt(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	const phone = "+966551330001"
	f.fake.SetFault(phone, twiliofake.Fault{Hang: true})
	m := f.queue(t, phone, tawasul.ChannelSMS, "x")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Give up (as River's job timeout would) once the fake holds the request.
		if f.fake.WaitHanging(ctx, 1) == nil {
			cancel()
		}
	}()
	err := f.work(ctx, m.ID, sendMaxAttempts)
	cancel()
	if err == nil || isCancel(err) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if strings.Contains(err.Error(), "551330001") {
		t.Fatalf("job error carries the phone number: %v", err)
	}
	got := f.message(t, m.ID)
	if got.Status != "failed" {
		t.Fatalf("status %q after the last attempt, want failed", got.Status)
	}
	var text string
	_ = f.pool.QueryRow(context.Background(), `SELECT error_message FROM messages WHERE id = $1`, m.ID).Scan(&text)
	if strings.Contains(text, "551330001") {
		t.Fatalf("error_message carries the phone number: %q", text)
	}
}

// TestStatusCallbackRacesSIDStore runs status callbacks concurrently with
// the sender storing the SID they are for: whichever lands first, the
// message ends with the callback's status.
func TestStatusCallbackRacesSIDStore(t *testing.T) {
	t.Parallel()
	f := newSendFixture(t)
	ctx := context.Background()
	const n = 20
	ids := make([]int64, n)
	sids := make([]string, n)
	for i := range n {
		ids[i] = f.queue(t, "+9665513400"+fmt.Sprintf("%02d", i), tawasul.ChannelSMS, "x").ID
		sids[i] = twiliofake.NewSID("SM")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- postgres.New(f.pool).MessageStatusCallback(ctx, sids[i], "delivered", nil)
		}()
		go func() {
			defer wg.Done()
			errs <- postgres.New(f.pool).MessageSent(ctx, ids[i], sids[i], "queued")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got := f.message(t, ids[i]); got.Status != "delivered" {
			t.Errorf("message %d: %q, want delivered (a callback was lost)", i, got.Status)
		}
	}
}
