package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tawasul/internal/dbtest"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
)

// TestReferenceNext (the SQL function reference_next): references count
// per year from 0001 (a sequence per year, made on first use), keep at
// least four digits and never cut a longer number.
func TestReferenceNext(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	next := func(year int) string {
		t.Helper()
		var ref string
		if err := pool.QueryRow(ctx, `SELECT reference_next('QS', $1)`, year).Scan(&ref); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	if got := next(2026); got != "QS-26-0001" {
		t.Fatalf("first of 2026: %s", got)
	}
	if got := next(2026); got != "QS-26-0002" {
		t.Fatalf("second of 2026: %s", got)
	}
	if got := next(2027); got != "QS-27-0001" {
		t.Fatalf("first of 2027: %s", got)
	}
	if _, err := pool.Exec(ctx, `SELECT setval('reference_seq_2026', 99998)`); err != nil {
		t.Fatal(err)
	}
	if got := next(2026); got != "QS-26-99999" {
		t.Fatalf("five digits: %s", got)
	}
	if got := next(2026); got != "QS-26-100000" {
		t.Fatalf("six digits: %s", got)
	}
	if got := next(2100); got != "QS-00-0001" {
		t.Fatalf("year 2100: %s", got)
	}
}

// TestInboundBatch: each item of a batch is taken and filed as it would be
// alone, in order, so later items see earlier ones: a second message is
// detail on the first one's submission, a replayed SID gets the first
// answer, and each answer is in its contact's language (nothing for an
// opted-out contact). A contact with a question open is left to the caller
// with nothing stored.
func TestInboundBatch(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		INSERT INTO contacts (phone, language, opted_out_at) VALUES
			('+966500000003', 'ar', now()), ('+966500000004', 'ar', NULL), ('+966500000005', 'en', NULL);
		INSERT INTO prompts (contact_id, kind, expires_at)
			SELECT id, 'rating', now() + interval '1 hour' FROM contacts WHERE phone = '+966500000004'`)
	if err != nil {
		t.Fatal(err)
	}
	items := []postgres.InboundItem{
		{Phone: "+966500000001", Language: "ar", SID: "SM1", Channel: tawasul.ChannelSMS, Body: "انقطاع المياه", Kind: tawasul.KindComplaint},
		{Phone: "+966500000001", Language: "ar", SID: "SM2", Channel: tawasul.ChannelSMS, Body: "منذ الصباح", Kind: tawasul.KindComplaint},
		{Phone: "+966500000001", Language: "ar", SID: "SM1", Channel: tawasul.ChannelSMS, Body: "انقطاع المياه", Kind: tawasul.KindComplaint},
		{Phone: "+966500000002", Language: "en", SID: "SM3", Channel: tawasul.ChannelWhatsApp, Body: "Idea: a park", Kind: tawasul.KindIdea,
			Media: []tawasul.Media{{URL: "https://api.twilio.com/m/ME1", ContentType: "image/jpeg"}, {URL: "https://api.twilio.com/m/ME2"}}},
		{Phone: "+966500000003", Language: "ar", SID: "SM4", Channel: tawasul.ChannelSMS, Body: "حفرة", Kind: tawasul.KindComplaint},
		{Phone: "+966500000004", Language: "ar", SID: "SM5", Channel: tawasul.ChannelSMS, Body: "٤", Kind: tawasul.KindComplaint},
		{Phone: "+966500000005", Language: "", SID: "SM6", Channel: tawasul.ChannelSMS, Body: "123", Kind: tawasul.KindComplaint},
	}
	filing := postgres.InboundBatchFiling{FollowupSince: time.Now().Add(-10 * time.Minute), ReferencePrefix: "QS", Year: 2026,
		Replies: map[string]postgres.BatchReplies{"ar": {New: "جديد {ref}", Detail: "تفصيل {ref}"}, "en": {New: "new {ref}", Detail: "detail {ref}"}}}
	st := postgres.New(pool)
	got, err := st.InboundBatch(ctx, items, filing) // one statement: no transaction needed
	if err != nil {
		t.Fatal(err)
	}
	want := []postgres.InboundBatched{
		{Outcome: postgres.BatchFiled, Reference: "QS-26-0001", Reply: "جديد QS-26-0001"},
		{Outcome: postgres.BatchFiled, Reference: "QS-26-0001", Reply: "تفصيل QS-26-0001"},
		{Outcome: postgres.BatchDuplicate, Reply: "جديد QS-26-0001"},
		{Outcome: postgres.BatchFiled, Reference: "QS-26-0002", Reply: "new QS-26-0002"},
		{Outcome: postgres.BatchFiled, Reference: "QS-26-0003", Reply: ""},
		{Outcome: postgres.BatchPrompt},
		{Outcome: postgres.BatchFiled, Reference: "QS-26-0004", Reply: "new QS-26-0004"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("outcomes\n got %+v\nwant %+v", got, want)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE direction = 'inbound'`).Scan(&n); err != nil || n != 5 {
		t.Errorf("%d inbound messages (%v), want 5: one per SID, none for the open prompt", n, err)
	}
	var body, lang, channel string
	if err := pool.QueryRow(ctx, `SELECT body, language, channel FROM submissions WHERE reference = 'QS-26-0001'`).Scan(&body, &lang, &channel); err != nil {
		t.Fatal(err)
	}
	if body != "انقطاع المياه" || lang != "ar" || channel != "sms" {
		t.Errorf("QS-26-0001: %q %s %s; want the follow-up kept out of the row, as a detail message", body, lang, channel)
	}
	if d, err := st.SubmissionDetail(ctx, "QS-26-0001", nil); err != nil || d.Body != "انقطاع المياه\nمنذ الصباح" {
		t.Errorf("QS-26-0001's whole text: %q (%v), want the follow-up on a line of its own", d.Body, err)
	}
	if err := pool.QueryRow(ctx, `SELECT language, kind || ' ' || channel FROM submissions WHERE reference = 'QS-26-0002'`).Scan(&lang, &body); err != nil {
		t.Fatal(err)
	}
	if lang != "en" || body != "idea whatsapp" {
		t.Errorf("QS-26-0002: %s %s", lang, body)
	}
	var media string
	err = pool.QueryRow(ctx, `SELECT string_agg(mm.n || ' ' || mm.url || ' ' || mm.content_type, ',' ORDER BY mm.n)
		FROM message_media mm JOIN messages m ON m.id = mm.message_id WHERE m.twilio_sid = 'SM3'`).Scan(&media)
	if want := "0 https://api.twilio.com/m/ME1 image/jpeg,1 https://api.twilio.com/m/ME2 "; err != nil || media != want {
		t.Errorf("SM3's attachments: %q (%v), want %q", media, err, want)
	}
	if err := pool.QueryRow(ctx, `SELECT language FROM submissions WHERE reference = 'QS-26-0004'`).Scan(&lang); err != nil || lang != "en" {
		t.Errorf("a message with no language takes its contact's: %q %v", lang, err)
	}
	// Filed in one transaction, the first submission's rows share one
	// timestamp; its timeline still reads in the order they were written.
	var id int64
	if err := pool.QueryRow(ctx, `SELECT id FROM submissions WHERE reference = 'QS-26-0001'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	tl, err := postgres.New(pool).SubmissionTimeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range tl {
		k := e.Kind
		if e.Message != nil {
			k += " " + e.Message.Body
		}
		kinds = append(kinds, k)
	}
	wantKinds := []string{"created", "message_in انقطاع المياه", "message_out جديد QS-26-0001",
		"detail_added منذ الصباح", "message_out تفصيل QS-26-0001"}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("timeline\n got %q\nwant %q", kinds, wantKinds)
	}
}

// TestInboundBatchAllOrNothing: InboundBatch runs without a transaction
// around it, so its one statement must keep nothing when any part fails:
// here the second message's attachment cannot be stored, and the first
// message, filed before it in the same statement, is gone too.
func TestInboundBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		CREATE FUNCTION refuse_media() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'storage refused'; END $$;
		CREATE TRIGGER refuse_media BEFORE INSERT ON message_media FOR EACH ROW EXECUTE FUNCTION refuse_media()`)
	if err != nil {
		t.Fatal(err)
	}
	items := []postgres.InboundItem{
		{Phone: "+966500000001", Language: "ar", SID: "SM1", Channel: tawasul.ChannelSMS, Body: "انقطاع المياه", Kind: tawasul.KindComplaint},
		{Phone: "+966500000002", Language: "ar", SID: "SM2", Channel: tawasul.ChannelWhatsApp, Body: "", Kind: tawasul.KindComplaint,
			Media: []tawasul.Media{{URL: "https://api.twilio.com/m/ME1", ContentType: "image/jpeg"}}},
	}
	filing := testFiling()
	if got, err := postgres.New(pool).InboundBatch(ctx, items, filing); err == nil {
		t.Fatalf("batch with an attachment that cannot be stored: %+v, want an error", got)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM submissions)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d messages and submissions kept (%v), want none", n, err)
	}
}

// TestFollowupRules: a message adds detail to its resident's newest
// submission only while that one is still new and had a message within the
// follow-up window; otherwise it opens a submission of its own. A detail
// moves the submission's last message time, which keeps the window open.
func TestFollowupRules(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	st := postgres.New(pool)
	filing := testFiling()
	text := func(sid, body string) string {
		t.Helper()
		got, err := st.InboundBatch(ctx, []postgres.InboundItem{{Phone: "+966500000001", Language: "ar", SID: sid,
			Channel: tawasul.ChannelSMS, Body: body, Kind: tawasul.KindComplaint}}, filing)
		if err != nil || got[0].Outcome != postgres.BatchFiled {
			t.Fatalf("%s: %+v %v", sid, got, err)
		}
		return got[0].Reference
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}

	first := text("SM1", "أ")
	exec(`UPDATE submissions SET last_message_at = now() - interval '9 minutes' WHERE reference = $1`, first)
	if ref := text("SM2", "ب"); ref != first {
		t.Errorf("within the window: %s, want detail on %s", ref, first)
	}
	// SM2 moved the last message time to now: a 5-minute window still
	// holds, whenever the submission was opened.
	exec(`UPDATE submissions SET created_at = now() - interval '1 hour' WHERE reference = $1`, first)
	filing.FollowupSince = time.Now().Add(-5 * time.Minute)
	if ref := text("SM3", "ج"); ref != first {
		t.Errorf("the window counts from the last message, not the first: %s, want %s", ref, first)
	}
	exec(`UPDATE submissions SET status = 'routed' WHERE reference = $1`, first)
	routed := text("SM4", "د")
	if routed == first {
		t.Errorf("a submission that left 'new' took a follow-up")
	}
	exec(`UPDATE submissions SET last_message_at = now() - interval '11 minutes' WHERE reference = $1`, routed)
	exec(`UPDATE submissions SET status = 'new' WHERE reference = $1`, routed)
	late := text("SM5", "هـ")
	if late == routed || late == first {
		t.Errorf("after the window: %s, want a new submission", late)
	}
	for ref, want := range map[string]string{first: "أ\nب\nج", routed: "د", late: "هـ"} {
		if d, err := st.SubmissionDetail(ctx, ref, nil); err != nil || d.Body != want {
			t.Errorf("%s: whole text %q (%v), want %q", ref, d.Body, err, want)
		}
	}
}

// TestFollowupOnOldSubmission: a submission filed before migration 00012
// holds its follow-ups in its body (and they have no 'detail' purpose); a
// later follow-up joins them once, in order.
func TestFollowupOnOldSubmission(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		WITH c AS (INSERT INTO contacts (phone) VALUES ('+966500000001') RETURNING id),
		s AS (INSERT INTO submissions (reference, contact_id, channel, kind, body, language)
			SELECT 'QS-26-0001', id, 'sms', 'complaint', E'انقطاع المياه\nمنذ الصباح', 'ar' FROM c RETURNING id, contact_id)
		INSERT INTO messages (contact_id, submission_id, direction, channel, body, status, twilio_sid)
		SELECT contact_id, id, 'inbound', 'sms', b.body, 'received', b.sid FROM s,
			(VALUES ('انقطاع المياه', 'SM1'), ('منذ الصباح', 'SM2')) AS b(body, sid)`)
	if err != nil {
		t.Fatal(err)
	}
	st := postgres.New(pool)
	filing := testFiling()
	got, err := st.InboundBatch(ctx, []postgres.InboundItem{{Phone: "+966500000001", Language: "ar", SID: "SM3",
		Channel: tawasul.ChannelSMS, Body: "في حي النسيم", Kind: tawasul.KindComplaint}}, filing)
	if err != nil || got[0].Reference != "QS-26-0001" {
		t.Fatalf("follow-up: %+v %v", got, err)
	}
	if d, err := st.SubmissionDetail(ctx, "QS-26-0001", nil); err != nil || d.Body != "انقطاع المياه\nمنذ الصباح\nفي حي النسيم" {
		t.Errorf("whole text %q (%v)", d.Body, err)
	}
}

// TestFollowupWhileStaffMoveOn: a follow-up that waits for its submission
// while staff move it on from 'new' opens a submission of its own once
// they commit, instead of adding to one that is no longer new.
func TestFollowupWhileStaffMoveOn(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	st := postgres.New(pool)
	filing := testFiling()
	item := func(sid, body string) []postgres.InboundItem {
		return []postgres.InboundItem{{Phone: "+966500000001", Language: "ar", SID: sid, Channel: tawasul.ChannelSMS,
			Body: body, Kind: tawasul.KindComplaint}}
	}
	first, err := st.InboundBatch(ctx, item("SM1", "انقطاع المياه"), filing)
	if err != nil {
		t.Fatal(err)
	}
	staff, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer staff.Rollback(ctx)
	if _, err := staff.Exec(ctx, `UPDATE submissions SET status = 'routed' WHERE reference = $1`, first[0].Reference); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		got []postgres.InboundBatched
		err error
	}
	second := make(chan answer, 1)
	go func() {
		got, err := st.InboundBatch(ctx, item("SM2", "منذ الصباح"), filing)
		second <- answer{got, err}
	}()
	waitForLockWaiter(t, pool, "the follow-up never waited for the submission staff hold")
	if err := staff.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-second
	if a.err != nil || a.got[0].Reference == "" || a.got[0].Reference == first[0].Reference {
		t.Errorf("follow-up after staff routed %s: %+v %v, want a new submission", first[0].Reference, a.got, a.err)
	}
}

// TestInboundBatchConcurrentReplay: when another instance's batch holding
// the same SID commits while this batch waits for the contact, this batch
// finds the message it stored and answers with its reply: one message, one
// submission.
func TestInboundBatchConcurrentReplay(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	item := postgres.InboundItem{Phone: "+966500000001", Language: "ar", SID: "SM1", Channel: tawasul.ChannelSMS, Body: "انقطاع المياه", Kind: tawasul.KindComplaint}
	filing := testFiling()

	first, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	got, err := postgres.New(first).InboundBatch(ctx, []postgres.InboundItem{item}, filing)
	if err != nil || got[0].Outcome != postgres.BatchFiled {
		t.Fatalf("first delivery: %+v %v", got, err)
	}

	type answer struct {
		got []postgres.InboundBatched
		err error
	}
	second := make(chan answer, 1)
	go func() {
		var a answer
		a.err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			a.got, a.err = postgres.New(tx).InboundBatch(ctx, []postgres.InboundItem{item}, filing)
			return a.err
		})
		second <- a
	}()
	waitForLockWaiter(t, pool, "the replay never waited for the first delivery's contact")
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-second
	if a.err != nil {
		t.Fatal(a.err)
	}
	if want := (postgres.InboundBatched{Outcome: postgres.BatchDuplicate, Reply: "جديد QS-26-0001"}); len(a.got) != 1 || a.got[0] != want {
		t.Fatalf("replay: %+v, want %+v", a.got, want)
	}
	var messages, submissions int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE direction = 'inbound'), (SELECT count(*) FROM submissions)`).
		Scan(&messages, &submissions); err != nil || messages != 1 || submissions != 1 {
		t.Errorf("%d inbound messages and %d submissions (%v), want 1 and 1", messages, submissions, err)
	}
}

// waitForLockWaiter waits until one session of pool's database waits on a
// lock, and fails the test with what (what never happened) after 10 s.
func waitForLockWaiter(t *testing.T, pool *pgxpool.Pool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var waiting int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err == nil && waiting == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// testFiling files with a 10-minute follow-up window, references of 2026
// and Arabic replies that show which template answered.
func testFiling() postgres.InboundBatchFiling {
	return postgres.InboundBatchFiling{FollowupSince: time.Now().Add(-10 * time.Minute), ReferencePrefix: "QS", Year: 2026,
		Replies: map[string]postgres.BatchReplies{"ar": {New: "جديد {ref}", Detail: "تفصيل {ref}"}}}
}

// TestOptOutAnswersOnlyItsOwnReplay: while a resident is opted out, a
// replayed webhook is answered only if it is the STOP itself. A message
// filed by another instance after the STOP's transaction began, but before
// it took the resident's row, is older than the opt-out however the clocks
// read, so its replay gets nothing.
func TestOptOutAnswersOnlyItsOwnReplay(t *testing.T) {
	pool := dbtest.Pool(t)
	ctx := context.Background()
	const phone = "+966551237777"
	filing := testFiling()

	stopTx, err := pool.Begin(ctx) // the STOP's transaction begins…
	if err != nil {
		t.Fatal(err)
	}
	defer stopTx.Rollback(ctx)
	if _, err := stopTx.Exec(ctx, `SELECT now()`); err != nil {
		t.Fatal(err)
	}
	// …another instance files a report meanwhile and answers it…
	out, err := postgres.New(pool).InboundBatch(ctx, []postgres.InboundItem{{Phone: phone, SID: "SMreport", Channel: tawasul.ChannelSMS,
		Body: "انقطاع المياه", Kind: tawasul.KindComplaint}}, filing)
	if err != nil || out[0].Reply == "" {
		t.Fatalf("report: %v %+v", err, out)
	}
	// …then the STOP takes the resident's row and opts them out.
	st := postgres.New(stopTx)
	tk, err := st.InboundTake(ctx, phone, "ar", false, "SMstop")
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.InboundStore(ctx, tk.ContactID, tawasul.ChannelSMS, "SMstop", "STOP")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ContactOptOut(ctx, tk.ContactID, &id); err != nil {
		t.Fatal(err)
	}
	if err := st.InboundReply(ctx, id, tk.ContactID, nil, tawasul.ChannelSMS, "stopped", "opt_out"); err != nil {
		t.Fatal(err)
	}
	if err := stopTx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Twilio reports the opt-out too (a send failed with 21610): that
	// changes neither the opt-out nor which message made it.
	if err := postgres.New(pool).ContactOptOut(ctx, tk.ContactID, nil); err != nil {
		t.Fatal(err)
	}
	for sid, want := range map[string]string{"SMreport": "", "SMstop": "stopped"} {
		r, err := postgres.New(pool).InboundTake(ctx, phone, "ar", false, sid)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Duplicate || r.StoredReply != want {
			t.Errorf("replay of %s while opted out: %q (duplicate %v), want %q", sid, r.StoredReply, r.Duplicate, want)
		}
	}
	// Opted back in, a replay gets its answer again.
	if err := postgres.New(pool).ContactOptIn(ctx, tk.ContactID); err != nil {
		t.Fatal(err)
	}
	if r, _ := postgres.New(pool).InboundTake(ctx, phone, "ar", false, "SMreport"); r == nil || r.StoredReply == "" {
		t.Errorf("replay after opting back in: %+v, want the stored answer", r)
	}
}
