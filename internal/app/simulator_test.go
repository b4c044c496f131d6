package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"tawasul/internal/dbtest"
	"tawasul/internal/tawasul"
	"tawasul/internal/twiliofake"
	"tawasul/jobs"
)

// TestServeSimulatorRoundTrip runs `tawasul serve` in simulator mode (no
// TWILIO_ACCOUNT_SID) and checks the whole loop: a signed inbound SMS gets
// an Arabic answer with a reference; an outbound message queued with its
// job is sent by the worker to the built-in simulator, which calls back
// through the real status endpoint until the message reads "delivered".
func TestServeSimulatorRoundTrip(t *testing.T) {
	dbURL := dbtest.URL(t)
	const token = "simRoundTripToken1"
	base, _, stop := startServe(t, []string{"DATABASE_URL=" + dbURL, "TAWASUL_ADDR=127.0.0.1:0",
		"TAWASUL_LOG_LEVEL=warn", "TWILIO_AUTH_TOKEN=" + token})
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit code %d", code)
		}
	}()

	// A resident texts in; the public URL defaulted to the bound address.
	params := url.Values{"MessageSid": {twiliofake.NewSID("SM")}, "AccountSid": {twiliofake.NewSID("AC")},
		"From": {"+966551234567"}, "To": {"+966920000940"}, "Body": {"انقطاع المياه في حي النسيم"}}
	req, _ := http.NewRequest("POST", base+"/twilio/sms", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(token, base+"/twilio/sms", params))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "استلمنا بلاغك رقم QS-") {
		t.Fatalf("inbound SMS: %d %s", res.StatusCode, body)
	}

	// Something queues a message to that resident.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rc, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var contactID int64
	if err := conn.QueryRow(ctx, `SELECT id FROM contacts WHERE phone = '+966551234567'`).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	m := &tawasul.Message{ContactID: contactID, Channel: tawasul.ChannelSMS, Body: "تمت معالجة بلاغك", Purpose: "test"}
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return jobs.QueueMessage(ctx, tx, rc, m) }); err != nil {
		t.Fatal(err)
	}

	// The worker sends it; the simulator reports queued → sent → delivered
	// through signed callbacks to /twilio/sms/status.
	deadline := time.Now().Add(30 * time.Second)
	var status string
	var sid *string
	for time.Now().Before(deadline) {
		if err := conn.QueryRow(ctx, `SELECT status, twilio_sid FROM messages WHERE id = $1`, m.ID).Scan(&status, &sid); err != nil {
			t.Fatal(err)
		}
		if status == "delivered" {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not timing anything
	}
	if status != "delivered" || sid == nil || !strings.HasPrefix(*sid, "SM") {
		t.Fatalf("outbound message: status %q sid %v, want delivered with a SID", status, sid)
	}
}
