package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/dbtest"
	"tawasul/internal/i18n"
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
// to. A webhook that gave up before its batch ran, or is about to, is left
// out and told so.
func TestFileBatchAnswersEachItsOwn(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	late, cancelLate := context.WithTimeout(ctx, batchMinTime/5)
	defer cancelLate()
	var batch []*batchItem
	for i, n := range []int{9, 3, 7, 1, 8, 2, 3, 5} { // 3 twice: detail on the same submission
		it := newBatchItem(ctx, &sms.Inbound{From: fmt.Sprintf("+96650000000%d", n), MessageSID: fmt.Sprintf("SM%d", i),
			Channel: tawasul.ChannelSMS, Body: fmt.Sprintf("بلاغ %d", i)}, "ar")
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
		if i == 5 || i == 2 {
			if it.err == nil {
				t.Errorf("item %d, of a webhook that gave up or is about to: %+v, want an error", i, it.res)
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
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE twilio_sid IN ('SM2', 'SM5')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d messages of webhooks that gave up or were about to were stored (%v)", n, err)
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
			res[i], err = e.fileBatched(ctx, &sms.Inbound{From: fmt.Sprintf("+9665%08d", n-i), MessageSID: fmt.Sprintf("SM%d", i),
				Channel: tawasul.ChannelSMS, Body: "انقطاع المياه"}, "ar")
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
// is handled on its own and still stored and answered.
func TestBatchFailureFallsBack(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
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
	if _, err := e.Pool.Exec(ctx, `INSERT INTO contacts (phone) VALUES ($1)`, phone); err != nil {
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

// send hands a message to the filers and answers on the channel returned.
func send(e *Engine, ctx context.Context, phone, sid, body string) chan answer {
	c := make(chan answer, 1)
	go func() {
		res, err := e.fileBatched(ctx, &sms.Inbound{From: phone, MessageSID: sid, Channel: tawasul.ChannelSMS, Body: body}, "ar")
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

// submissionBody is the body of the submission reference names.
func submissionBody(t *testing.T, e *Engine, reference string) string {
	t.Helper()
	var body string
	if err := e.Pool.QueryRow(context.Background(), `SELECT body FROM submissions WHERE reference = $1`, reference).Scan(&body); err != nil {
		t.Fatal(err)
	}
	return body
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
