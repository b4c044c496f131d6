package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"tawasul/internal/twiliofake"
)

// BenchmarkWebhookSMS measures one signed inbound SMS through the whole
// handler stack (signature, parse, conversation engine, TwiML) against the
// test database, in process. Each message comes from a new resident, so
// each opens a submission: the expensive path. make bench-sms measures the
// same over HTTP beside a baseline (docs/benchmarks.md).
func BenchmarkWebhookSMS(b *testing.B) {
	bundle := setup(b, nil)
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			p := url.Values{"MessageSid": {twiliofake.NewSID("SM")}, "AccountSid": {"AC00000000000000000000000000000000"},
				"From": {fmt.Sprintf("+9665%08d", i)}, "To": {"+966920000940"}, "Body": {"انقطاع المياه في حي النسيم"}}
			req := httptest.NewRequest("POST", "/twilio/sms", strings.NewReader(p.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliofake.Sign(testAuthToken, testPublicURL+"/twilio/sms", p))
			rec := httptest.NewRecorder()
			bundle.srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
			}
		}
	})
}

// BenchmarkBaselineInsert is BenchmarkWebhookSMS's same-run baseline: one
// INSERT of the same message into a bare table on the same test database,
// through the same pool, with nothing else.
func BenchmarkBaselineInsert(b *testing.B) {
	bundle := setup(b, nil)
	ctx := b.Context()
	if _, err := bundle.srv.Pool.Exec(ctx, `CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, sid text UNIQUE, phone text, body text)`); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := bundle.srv.Pool.Exec(ctx, `INSERT INTO bench_baseline (sid, phone, body) VALUES ($1, $2, $3)`,
				twiliofake.NewSID("SM"), fmt.Sprintf("+9665%08d", i), "انقطاع المياه في حي النسيم"); err != nil {
				b.Error(err)
			}
		}
	})
}
