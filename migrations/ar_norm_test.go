package migrations_test

import (
	"context"
	"testing"

	"tawasul/internal/arabic"
	"tawasul/internal/dbtest"
)

// The migration's ar_norm (which fills submissions.body_norm) must agree with
// arabic.Normalize, which normalises search queries in Go.
func TestARNormMatchesGo(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	for _, s := range []string{
		"أحمد إبراهيم آمال", "رقم ٠٥٥١٢٣٤٥٦٧ و ۱۲۳", "مُسْتَشْفَى", "ـــمدرســـة", "الانارة   طافية\nفي حي الريان؟",
		"Street LIGHT is Broken ، please", "ﻻ إله", "مؤسسة شاطئ", "",
	} {
		var got string
		if err := pool.QueryRow(context.Background(), `SELECT ar_norm($1)`, s).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := arabic.Normalize(s); got != want {
			t.Errorf("ar_norm(%q) = %q, Go Normalize = %q", s, got, want)
		}
	}
}

// submissions.body_norm stays ar_norm(body) however body changes: set,
// appended to line by line as follow-ups do (only the new line is
// normalised then), appended to without a line break, replaced, and when
// someone sets body_norm itself (which renormalises the whole body).
func TestBodyNormFollowsBody(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	check := func(step, q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		var body, norm, want string
		if err := pool.QueryRow(ctx, `SELECT body, body_norm, ar_norm(body) FROM submissions`).Scan(&body, &norm, &want); err != nil {
			t.Fatal(err)
		}
		if norm != want {
			t.Errorf("%s: body %q has body_norm %q, want %q", step, body, norm, want)
		}
	}
	check("insert", `INSERT INTO submissions (reference, channel, kind, body, language)
		VALUES ('QS-26-0001', 'sms', 'complaint', '  أُنارة   الشارع ', 'ar')`)
	for _, line := range []string{"مُعطّلة منذ أسبوع", "   ", "ــ", "", "\u0301x ١٢٣", "Near GATE ٤"} {
		check("append "+line, `UPDATE submissions SET body = body || E'\n' || $1`, line)
	}
	check("append without a line break", `UPDATE submissions SET body = body || 'إضافة'`)
	check("replace", `UPDATE submissions SET body = 'نص جديد تماماً'`)
	check("set body_norm by hand", `UPDATE submissions SET body_norm = 'something else'`)
	check("other column", `UPDATE submissions SET status = 'routed'`)
	// After a change to ar_norm, setting body_norm to NULL renormalises.
	check("stale", `ALTER TABLE submissions DISABLE TRIGGER submissions_body_norm;
		UPDATE submissions SET body_norm = 'stale';
		ALTER TABLE submissions ENABLE TRIGGER submissions_body_norm;
		UPDATE submissions SET body_norm = NULL`)
}

// messages.body_norm is ar_norm(body) on 'detail' messages (what a
// resident adds to a submission, which search reads), whether the body is
// inserted, changed (a redaction) or the message becomes a detail later;
// other messages carry none.
func TestMessageBodyNormFollowsBody(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO contacts (phone) VALUES ('+966551234567');
		INSERT INTO messages (contact_id, direction, channel, body, purpose, status)
		SELECT id, 'inbound', 'sms', 'والضغطُ ضعيفٌ جداً', 'detail', 'received' FROM contacts;
		INSERT INTO messages (contact_id, direction, channel, body, purpose, status)
		SELECT id, 'outbound', 'sms', 'شكراً لك', 'reply', 'pending' FROM contacts`)
	check := func(step string) {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT purpose, body, body_norm, ar_norm(body) FROM messages ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var purpose, body, want string
			var norm *string
			if err := rows.Scan(&purpose, &body, &norm, &want); err != nil {
				t.Fatal(err)
			}
			switch {
			case purpose == "detail" && (norm == nil || *norm != want):
				t.Errorf("%s: detail %q has body_norm %v, want %q", step, body, norm, want)
			case purpose != "detail" && norm != nil:
				t.Errorf("%s: %s message %q has body_norm %q, want none", step, purpose, body, *norm)
			}
		}
	}
	check("insert")
	exec(`UPDATE messages SET body = 'الرقم [محذوف] ضعيفٌ' WHERE purpose = 'detail'`)
	check("redacted")
	exec(`UPDATE messages SET status = 'failed' WHERE purpose = 'reply'`)
	check("other column")
	exec(`UPDATE messages SET purpose = 'detail' WHERE purpose = 'reply'`)
	check("became a detail")
}
