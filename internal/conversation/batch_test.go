package conversation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/dbtest"
	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/sms"
	"tawasul/internal/tawasul"
)

func testEngine(t *testing.T) *Engine {
	t.Helper()
	cat, err := i18n.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &Engine{Pool: dbtest.Pool(t), Catalog: cat, FollowupWindow: 10 * time.Minute, ReferencePrefix: "QS",
		Now: func() time.Time { return now }}
}

// TestFileBatchAnswersEachItsOwn: a batch is filed in phone order, not in
// the order its webhooks arrived, and each webhook still gets the answer
// for its own message: the reference of the submission its message went
// to. A webhook that gave up before its batch ran is left out and told
// so; one about to give up is filed on its own.
func TestFileBatchAnswersEachItsOwn(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	e.batch.minTime = time.Minute // so that "late" has time enough to be filed
	late, cancelLate := context.WithTimeout(ctx, 30*time.Second)
	defer cancelLate()
	var batch []*batchItem
	for i, n := range []int{9, 3, 7, 1, 8, 2, 3, 5} { // 3 twice: detail on the same submission
		it := newBatchItem(ctx, &sms.Inbound{From: fmt.Sprintf("+96650000000%d", n), MessageSID: fmt.Sprintf("SM%d", i),
			Channel: tawasul.ChannelSMS, Body: fmt.Sprintf("بلاغ %d", i)}, "ar", sms.NoKeyword)
		switch i {
		case 5:
			it.ctx = gone
		case 2:
			it.ctx = late
		}
		batch = append(batch, it)
	}
	e.fileBatch(batch)
	for i, it := range batch {
		<-it.done
		if i == 5 {
			if it.err == nil {
				t.Errorf("item %d, of a webhook that gave up: %+v, want an error", i, it.res)
			}
			continue
		}
		if it.err != nil {
			t.Fatalf("item %d: %v", i, it.err)
		}
		var ref string
		err := e.Pool.QueryRow(ctx, `SELECT s.reference FROM messages m JOIN submissions s ON s.id = m.submission_id
			WHERE m.twilio_sid = $1`, it.in.SID).Scan(&ref)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if it.res.Duplicate || it.res.Reference != ref || !strings.Contains(it.res.Reply, ref) {
			t.Errorf("item %d (%s): answered %+v, but its message went to %s", i, it.in.Phone, it.res, ref)
		}
	}
	if batch[1].res.Reference != batch[6].res.Reference {
		t.Errorf("one resident's two messages went to %s and %s", batch[1].res.Reference, batch[6].res.Reference)
	}
	var n int
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE twilio_sid = 'SM5'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the message of a webhook that gave up was stored (%v)", err)
	}
}

// TestLateResidentFiledBesideASlowBatch: a resident with a message about
// to time out is filed at once, beside a batch that waits (here on another
// resident's contact), not after it, when their first message would have
// run out of time and their second been filed ahead of it.
func TestLateResidentFiledBesideASlowBatch(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const other, phone = "+966500000009", "+966500000001"
	release := holdContact(t, e, other)
	e.batch.minTime = time.Minute // so that "late" has time enough to be filed
	late, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	live, cancelLive := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelLive()
	x := newBatchItem(live, &sms.Inbound{From: other, MessageSID: "SMX", Channel: tawasul.ChannelSMS, Body: "بلاغ آخر"}, "ar", sms.NoKeyword)
	first := newBatchItem(late, &sms.Inbound{From: phone, MessageSID: "SM1", Channel: tawasul.ChannelSMS, Body: "الأول"}, "ar", sms.NoKeyword)
	second := newBatchItem(live, &sms.Inbound{From: phone, MessageSID: "SM2", Channel: tawasul.ChannelSMS, Body: "الثاني"}, "ar", sms.NoKeyword)
	filed := make(chan struct{})
	go func() { e.fileBatch([]*batchItem{x, first, second}); close(filed) }()
	for _, it := range []*batchItem{first, second} {
		select {
		case <-it.done:
		case <-late.Done():
			t.Fatalf("%s waited for the batch", it.in.SID)
		}
		if it.err != nil {
			t.Fatalf("%s: %v", it.in.SID, it.err)
		}
	}
	if got := storedOrder(t, e); !slices.Equal(got, []string{"SM1", "SM2"}) {
		t.Errorf("stored %v while the batch waited, want SM1 then SM2", got)
	}
	if second.res.Reference != first.res.Reference {
		t.Errorf("answered %+v and %+v, want one submission", first.res, second.res)
	}
	release()
	<-filed
	if x.err != nil || x.res.Reference == "" || x.res.Reference == first.res.Reference {
		t.Errorf("the other resident's message: %+v, %v", x.res, x.err)
	}
}

// TestLateMessageKeepsItsResidentsOrder: a message with too little of its
// webhook's time left to join the batch is filed on its own, and the same
// resident's next message, which could have joined, waits for it: the
// first opens the submission and the second adds to it.
func TestLateMessageKeepsItsResidentsOrder(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	e.batch.minTime = time.Minute // so that "late" has time enough to be filed
	late, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	const phone = "+966500000001"
	first := newBatchItem(late, &sms.Inbound{From: phone, MessageSID: "SM1", Channel: tawasul.ChannelSMS, Body: "الأول"}, "ar", sms.NoKeyword)
	second := newBatchItem(ctx, &sms.Inbound{From: phone, MessageSID: "SM2", Channel: tawasul.ChannelSMS, Body: "الثاني"}, "ar", sms.NoKeyword)
	e.fileBatch([]*batchItem{first, second})
	for _, it := range []*batchItem{first, second} {
		<-it.done
		if it.err != nil {
			t.Fatalf("%s: %v", it.in.SID, it.err)
		}
	}
	if got := storedOrder(t, e); !slices.Equal(got, []string{"SM1", "SM2"}) {
		t.Errorf("stored %v, want SM1 then SM2", got)
	}
	if first.res.Reference == "" || second.res.Reference != first.res.Reference {
		t.Errorf("answered %+v and %+v, want one submission", first.res, second.res)
	}
	if got := submissionBody(t, e, first.res.Reference); !strings.HasPrefix(got, "الأول") {
		t.Errorf("the submission reads %q, want it to open with the first message", got)
	}
}

// TestFileBatchedConcurrently: many webhooks at once, more than the filers
// can take one by one, are all stored once, each answered with its own
// submission's reference.
func TestFileBatchedConcurrently(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const n = 100
	res := make([]*Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			res[i], err = e.HandleInbound(ctx, &sms.Inbound{From: fmt.Sprintf("+9665%08d", n-i), MessageSID: fmt.Sprintf("SM%d", i),
				Channel: tawasul.ChannelSMS, Body: "انقطاع المياه"})
			if err != nil {
				t.Error(err)
				res[i] = &Result{}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range res {
		var ref string
		err := e.Pool.QueryRow(ctx, `SELECT s.reference FROM messages m JOIN submissions s ON s.id = m.submission_id
			WHERE m.twilio_sid = $1`, fmt.Sprintf("SM%d", i)).Scan(&ref)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if r.Reference != ref || seen[ref] {
			t.Errorf("message %d: answered %q, filed under %s (seen before: %v)", i, r.Reference, ref, seen[ref])
		}
		seen[ref] = true
	}
}

// breakBatch makes every batch statement fail, as a database error would.
func breakBatch(t *testing.T, e *Engine) {
	t.Helper()
	_, err := e.Pool.Exec(context.Background(), `CREATE OR REPLACE FUNCTION inbound_batch(p_items jsonb,
		p_followup_since timestamptz, p_prefix text, p_year int, p_replies jsonb)
		RETURNS TABLE (n int, outcome text, reference text, reply text)
		LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'batch broken'; END $$`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestBatchFailureFallsBack: when the batch statement fails, each message
// is handled on its own and still stored and answered, and the operator is
// told why in the log.
func TestBatchFailureFallsBack(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	logs := captureLog(e)
	ctx := context.Background()
	breakBatch(t, e)
	res, err := e.HandleInbound(ctx, &sms.Inbound{MessageSID: "SM1", From: "+966500000001", Channel: tawasul.ChannelSMS,
		Body: "انقطاع المياه"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reference != "QS-26-0001" || !strings.Contains(res.Reply, res.Reference) {
		t.Errorf("handled alone: %+v", res)
	}
	if n := countInbound(t, e); n != 1 {
		t.Errorf("%d inbound messages stored, want 1", n)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "batch broken") || strings.Contains(l, "+9665") {
		t.Errorf("log: %q, want a warning with the batch's error and no phone number", l)
	}
}

// captureLog sends e's log to the buffer returned.
func captureLog(e *Engine) *syncBuffer {
	b := &syncBuffer{}
	e.Logger = slog.New(slog.NewTextHandler(b, nil))
	return b
}

// syncBuffer is a bytes.Buffer that the filers may write while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func countInbound(t *testing.T, e *Engine) int {
	t.Helper()
	var n int
	if err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE direction = 'inbound'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The helpers below hold a resident's contact locked, so that a batch (or
// a message handled alone) waits, and watch the queue meanwhile.

// holdContact locks phone's contact (creating it) until release.
func holdContact(t *testing.T, e *Engine, phone string) (release func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Pool.Exec(ctx, `INSERT INTO contacts (phone) VALUES ($1) ON CONFLICT (phone) DO NOTHING`, phone); err != nil {
		t.Fatal(err)
	}
	lock, err := e.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Rollback(ctx) })
	if _, err := lock.Exec(ctx, `SELECT 1 FROM contacts WHERE phone = $1 FOR UPDATE`, phone); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := lock.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

type answer struct {
	res *Result
	err error
}

// send hands a message to the engine, as the webhook does, and answers on
// the channel returned.
func send(e *Engine, ctx context.Context, phone, sid, body string) chan answer {
	c := make(chan answer, 1)
	go func() {
		res, err := e.HandleInbound(ctx, &sms.Inbound{From: phone, MessageSID: sid, Channel: tawasul.ChannelSMS, Body: body})
		if res == nil {
			res = &Result{}
		}
		c <- answer{res, err}
	}()
	return c
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// lockWaiters holds when n of this test database's connections wait on a lock.
func lockWaiters(e *Engine, n int) func() bool {
	return func() bool {
		var got int
		err := e.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&got)
		return err == nil && got == n
	}
}

// queued holds when n messages are queued and one filer (the waiting one)
// is running.
func queued(e *Engine, n int) func() bool {
	return func() bool {
		e.batch.mu.Lock()
		defer e.batch.mu.Unlock()
		return len(e.batch.queue) == n && e.batch.running == 1
	}
}

// submissionBody is the whole text of the submission reference names
// (its first message and the details added to it), as staff see it.
func submissionBody(t *testing.T, e *Engine, reference string) string {
	t.Helper()
	d, err := postgres.New(e.Pool).SubmissionDetail(context.Background(), reference, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.Body
}

// TestBatchesKeepOneResidentInOrder: while a batch waits (here on a
// contact another transaction holds), later messages from the same
// resident stay queued, and are filed after it, in order; a webhook that
// gives up while its message is queued gets its answer at once and its
// message is not stored, while one that gives up once a batch holds its
// message waits for the batch; other residents' messages are filed
// meanwhile.
func TestBatchesKeepOneResidentInOrder(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const held, other = "+966500000001", "+966500000002"
	release := holdContact(t, e, held)

	// SM1's webhook gives up too, but only once a batch holds SM1: it
	// still waits, and gets the answer for its stored message.
	firstCtx, giveUpFirst := context.WithCancel(ctx)
	first := send(e, firstCtx, held, "SM1", "الأول")
	waitFor(t, "the batch with SM1 to wait on the lock", lockWaiters(e, 1))
	giveUpFirst()
	waiting, giveUp := context.WithCancel(ctx)
	gaveUp := send(e, waiting, held, "SM2", "يلغى")
	waitFor(t, "SM2 to stay queued", queued(e, 1))
	giveUp()
	if a := <-gaveUp; !errors.Is(a.err, context.Canceled) {
		t.Errorf("queued webhook that gave up: %+v, want context.Canceled", a)
	}
	waitFor(t, "SM2 to leave the queue", queued(e, 0))
	second := send(e, ctx, held, "SM3", "الثاني")
	waitFor(t, "SM3 to stay queued", queued(e, 1))
	if a := <-send(e, ctx, other, "SM4", "غيره"); a.err != nil || a.res.Reference == "" {
		t.Errorf("another resident's message, while the batch waits: %+v", a)
	}

	release()
	a1, a3 := <-first, <-second
	if a1.err != nil || a3.err != nil || a1.res.Reference == "" || a3.res.Reference != a1.res.Reference {
		t.Fatalf("the resident's messages: %+v then %+v, want one submission", a1, a3)
	}
	if body := submissionBody(t, e, a1.res.Reference); body != "الأول\nالثاني" {
		t.Errorf("submission body %q: messages out of order", body)
	}
	rows, _ := e.Pool.Query(ctx, `SELECT twilio_sid FROM messages WHERE direction = 'inbound' ORDER BY twilio_sid`)
	sids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(sids, []string{"SM1", "SM3", "SM4"}) {
		t.Errorf("stored %v (%v), want SM1, SM3, SM4", sids, err)
	}
}

// TestBatchFailureKeepsOrder: a message whose batch failed is handled on
// its own by the filer, and the resident's next message waits for it.
func TestBatchFailureKeepsOrder(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const held = "+966500000001"
	breakBatch(t, e)
	release := holdContact(t, e, held)
	first := send(e, ctx, held, "SM1", "الأول")
	waitFor(t, "SM1, on its own after its batch failed, to wait on the lock", lockWaiters(e, 1))
	second := send(e, ctx, held, "SM2", "الثاني")
	waitFor(t, "SM2 to stay queued", queued(e, 1))
	release()
	a1, a2 := <-first, <-second
	if a1.err != nil || a2.err != nil || a1.res.Reference == "" || a2.res.Reference != a1.res.Reference {
		t.Fatalf("the resident's messages: %+v then %+v, want one submission", a1, a2)
	}
	if body := submissionBody(t, e, a1.res.Reference); body != "الأول\nالثاني" {
		t.Errorf("submission body %q: messages out of order", body)
	}
}

// storedOrder lists the SIDs of the inbound messages in the order they
// were stored.
func storedOrder(t *testing.T, e *Engine) []string {
	t.Helper()
	rows, _ := e.Pool.Query(context.Background(), `SELECT twilio_sid FROM messages WHERE direction = 'inbound' ORDER BY id`)
	sids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return sids
}

// TestKeywordWaitsItsTurn: a STOP sent after two messages still queued
// behind a waiting batch is acted on after them (both are filed and
// answered, then the resident is opted out), and a message sent after the
// STOP is filed after it, with no answer.
func TestKeywordWaitsItsTurn(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const held = "+966500000001"
	release := holdContact(t, e, held)
	first := send(e, ctx, held, "SM1", "الأول")
	waitFor(t, "the batch with SM1 to wait on the lock", lockWaiters(e, 1))
	second := send(e, ctx, held, "SM2", "الثاني")
	waitFor(t, "SM2 to stay queued", queued(e, 1))
	stop := send(e, ctx, held, "SM3", "STOP")
	waitFor(t, "STOP to stay queued", queued(e, 2))
	after := send(e, ctx, held, "SM4", "بعد الإيقاف")
	waitFor(t, "SM4 to stay queued", queued(e, 3))
	release()
	a1, a2, a3, a4 := <-first, <-second, <-stop, <-after
	if a1.err != nil || a2.err != nil || a3.err != nil || a4.err != nil {
		t.Fatalf("answers: %+v, %+v, %+v, %+v", a1, a2, a3, a4)
	}
	if a4.res.Reply != "" {
		t.Errorf("SM4, sent after STOP, was answered %q", a4.res.Reply)
	}
	if a2.res.Reference != a1.res.Reference || !strings.Contains(a2.res.Reply, a1.res.Reference) {
		t.Errorf("SM2, sent before STOP, answered %+v, want detail on %s", a2.res, a1.res.Reference)
	}
	if a3.res.Reply == "" {
		t.Error("STOP got no confirmation")
	}
	if got := storedOrder(t, e); !slices.Equal(got, []string{"SM1", "SM2", "SM3", "SM4"}) {
		t.Errorf("stored %v, want SM1, SM2, SM3, SM4", got)
	}
}

// TestPromptAnswerBeforeLaterStop: a resident with a rating question open
// answers it and then sends STOP. The answer is recorded as the rating (not
// filed as a new complaint) and the STOP is acted on after it.
func TestPromptAnswerBeforeLaterStop(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const held = "+966500000001"
	var contactID int64
	if err := e.Pool.QueryRow(ctx, `INSERT INTO contacts (phone) VALUES ($1) RETURNING id`, held).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	p := &tawasul.Prompt{ContactID: contactID, Kind: "rating", Token: newPromptToken(), ExpiresAt: e.now().Add(time.Hour)}
	if err := postgres.New(e.Pool).PromptInsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	release := holdContact(t, e, held)
	rating := send(e, ctx, held, "SM1", "٥")
	waitFor(t, "the batch with the rating to wait on the lock", lockWaiters(e, 1))
	stop := send(e, ctx, held, "SM2", "STOP")
	waitFor(t, "STOP to stay queued", queued(e, 1))
	release()
	if a := <-rating; a.err != nil || a.res.Reference != "" {
		t.Errorf("the rating: %+v, want it taken as the answer, not filed", a)
	}
	if a := <-stop; a.err != nil || a.res.Reply == "" {
		t.Errorf("STOP: %+v", a)
	}
	var answer string
	if err := e.Pool.QueryRow(ctx, `SELECT coalesce(answer::text, '') FROM prompts WHERE id = $1`, p.ID).Scan(&answer); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(answer, "opted_out") || !strings.Contains(answer, "5") {
		t.Errorf("prompt answer %s, want the rating 5", answer)
	}
	var subs int
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM submissions`).Scan(&subs); err != nil || subs != 0 {
		t.Errorf("%d submissions (%v), want none: the rating became a complaint", subs, err)
	}
}

// boom is a prompt kind whose answers panic when recorded.
type boom struct{ Rating }

func (boom) Record(context.Context, *postgres.Store, *tawasul.Prompt, string) error { panic("boom") }

// TestFilerSurvivesPanic: a panic while filing (here in a prompt kind's
// Record) fails that message's webhook, not the process, and is logged
// with its stack; the filers go on filing other residents' messages.
func TestFilerSurvivesPanic(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	logs := captureLog(e)
	e.Kinds = map[string]PromptKind{"boom": boom{}}
	ctx := context.Background()
	var contactID int64
	if err := e.Pool.QueryRow(ctx, `INSERT INTO contacts (phone) VALUES ('+966500000001') RETURNING id`).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	p := &tawasul.Prompt{ContactID: contactID, Kind: "boom", Token: newPromptToken(), ExpiresAt: e.now().Add(time.Hour)}
	if err := postgres.New(e.Pool).PromptInsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	if a := <-send(e, ctx, "+966500000001", "SM1", "٥"); a.err == nil || !strings.Contains(a.err.Error(), "panicked") {
		t.Errorf("the message whose filing panicked: %+v, want an error", a)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "panic=boom") || !strings.Contains(l, "batch_test.go") {
		t.Errorf("log: %q, want an error with the panic and its stack", l)
	}
	for i := range 3 {
		if a := <-send(e, ctx, fmt.Sprintf("+96650000001%d", i), fmt.Sprintf("SM2%d", i), "بلاغ"); a.err != nil || a.res.Reference == "" {
			t.Errorf("another resident's message after the panic: %+v", a)
		}
	}
	waitFor(t, "the filers to let go of every phone number", func() bool {
		e.batch.mu.Lock()
		defer e.batch.mu.Unlock()
		return len(e.batch.filing) == 0 && e.batch.running == 0
	})
}

// TestSlowKeywordHoldsUpOnlyItsResident: of two STOPs in one batch, the
// one whose contact is busy (locked here) does not hold up the other
// resident's, which is answered while the first still waits.
func TestSlowKeywordHoldsUpOnlyItsResident(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	const busy, free = "+966500000001", "+966500000002" // busy sorts first
	release := holdContact(t, e, busy)
	var batch []*batchItem
	for i, p := range []string{busy, free} {
		batch = append(batch, newBatchItem(ctx, &sms.Inbound{From: p, MessageSID: fmt.Sprintf("SM%d", i),
			Channel: tawasul.ChannelSMS, Body: "STOP"}, "", sms.OptOut))
	}
	filed := make(chan struct{})
	go func() {
		e.fileBatch(batch)
		close(filed)
	}()
	select {
	case <-batch[1].done:
	case <-time.After(10 * time.Second): // a bound for failure, not a timing assumption
		t.Fatal("the free resident's STOP waited behind the busy one's")
	}
	if batch[1].err != nil || batch[1].res.Reply == "" {
		t.Errorf("the free resident's STOP: %+v, %v", batch[1].res, batch[1].err)
	}
	select {
	case <-batch[0].done:
		t.Fatal("the busy resident's STOP was answered while its contact was locked")
	default:
	}
	release()
	<-filed
	if batch[0].err != nil || batch[0].res.Reply == "" {
		t.Errorf("the busy resident's STOP: %+v, %v", batch[0].res, batch[0].err)
	}
}

// TestAttachmentsStoredAlone: a message handled on its own (here because
// the batch failed) keeps its attachments too, once, replays included.
func TestAttachmentsStoredAlone(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	captureLog(e)
	breakBatch(t, e)
	in := &sms.Inbound{MessageSID: "MM" + strings.Repeat("a", 32), From: "+966500000001", Channel: tawasul.ChannelWhatsApp,
		Media: []tawasul.Media{{URL: "https://api.twilio.com/a", ContentType: "image/jpeg"}, {URL: "https://api.twilio.com/b"}}}
	for i := range 2 {
		if res, err := e.HandleInbound(context.Background(), in); err != nil || (i == 0) != (res.Reference != "") || (i == 1) != res.Duplicate {
			t.Fatalf("delivery %d: %+v %v", i+1, res, err)
		}
	}
	var got []string
	rows, err := e.Pool.Query(context.Background(), `SELECT n || ' ' || url || ' ' || content_type FROM message_media ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	got, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(got, []string{"0 https://api.twilio.com/a image/jpeg", "1 https://api.twilio.com/b "}) {
		t.Errorf("attachments %q (%v)", got, err)
	}
}
