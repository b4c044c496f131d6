package conversation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"tawasul/internal/postgres"
	"tawasul/internal/sms"
	"tawasul/internal/tawasul"
)

// askingEngine is testEngine with an insert-only River client, for Ask.
func askingEngine(t *testing.T) *Engine {
	t.Helper()
	e := testEngine(t)
	rc, err := river.NewClient(riverpgxv5.New(e.Pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.River, e.PromptTTL, e.PublicURL = rc, time.Hour, "https://tawasul.example.sa"
	return e
}

func testContact(t *testing.T, e *Engine, phone string, optedOut bool) *tawasul.Contact {
	t.Helper()
	c := &tawasul.Contact{Phone: phone, Language: "ar"}
	err := e.Pool.QueryRow(context.Background(), `INSERT INTO contacts (phone, opted_out_at)
		VALUES ($1, CASE WHEN $2 THEN now() END) RETURNING id`, phone, optedOut).Scan(&c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *Engine) askInTx(ctx context.Context, tx pgx.Tx, c *tawasul.Contact, ref string) (*tawasul.Prompt, error) {
	return e.Ask(ctx, tx, c, tawasul.ChannelSMS, nil, "rating", map[string]any{"reference": ref})
}

// askingTx begins a transaction that asks c a question about ref and
// leaves it open (rolled back at the end of the test unless committed).
func (e *Engine) askingTx(t *testing.T, c *tawasul.Contact, ref string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := e.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := e.askInTx(ctx, tx, c, ref); err != nil {
		t.Fatal(err)
	}
	return tx
}

// openPrompts lists the references of the contact's open questions.
func openPrompts(t *testing.T, e *Engine, contactID int64) []string {
	t.Helper()
	rows, _ := e.Pool.Query(context.Background(), `SELECT payload->>'reference' FROM prompts
		WHERE contact_id = $1 AND closed_at IS NULL`, contactID)
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestAskConcurrentlyLaterWins: a second question asked for a contact
// while another transaction is asking them one waits for it, then
// replaces it, instead of failing (and taking the caller's whole
// transaction with it).
func TestAskConcurrentlyLaterWins(t *testing.T) {
	t.Parallel()
	e := askingEngine(t)
	ctx := context.Background()
	c := testContact(t, e, "+966500000001", false)
	tx := e.askingTx(t, c, "QS-26-0001")
	second := make(chan error, 1)
	go func() {
		second <- pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
			_, err := e.askInTx(ctx, tx, c, "QS-26-0002")
			return err
		})
	}()
	waitFor(t, "the second question to wait for the first", lockWaiters(e, 1))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the second question failed: %v", err)
	}
	if got := openPrompts(t, e, c.ID); len(got) != 1 || got[0] != "QS-26-0002" {
		t.Errorf("open questions %v, want only the second", got)
	}
}

// TestAskRefusedWritesNothing: asking a contact who opted out is refused
// before anything is written, so a caller that skips them and commits
// leaves no question open (a later "٣" would have been taken as its
// answer) and the one they had stays as it was.
func TestAskRefusedWritesNothing(t *testing.T) {
	t.Parallel()
	e := askingEngine(t)
	ctx := context.Background()
	c := testContact(t, e, "+966500000002", false)
	if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		_, err := e.askInTx(ctx, tx, c, "QS-26-0001")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pool.Exec(ctx, `UPDATE contacts SET opted_out_at = now() WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if _, err := e.askInTx(ctx, tx, c, "QS-26-0002"); tawasul.ErrorCode(err) != tawasul.ECONFLICT {
			t.Errorf("asking an opted-out contact: %v, want ECONFLICT", err)
		}
		return nil // the caller skips them and commits the rest
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := openPrompts(t, e, c.ID); len(got) != 1 || got[0] != "QS-26-0001" {
		t.Errorf("open questions %v, want the first one only, untouched", got)
	}
	var queued int
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, c.ID).Scan(&queued); err != nil || queued != 1 {
		t.Errorf("%d messages queued (%v), want the first question's only", queued, err)
	}
}

// TestAskDoesNotHoldUpTheInboundPath: a transaction asking residents
// questions does not make a batch filing their messages wait for it (nor,
// asking them out of phone order, deadlock with it).
func TestAskDoesNotHoldUpTheInboundPath(t *testing.T) {
	t.Parallel()
	e := askingEngine(t)
	logs := captureLog(e)
	ctx := context.Background()
	a := testContact(t, e, "+966500000001", false)
	b := testContact(t, e, "+966500000002", false)
	tx := e.askingTx(t, b, "QS-26-0002")
	guard, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	items := []*batchItem{
		newBatchItem(guard, &sms.Inbound{From: a.Phone, MessageSID: "SMA", Channel: tawasul.ChannelSMS, Body: "بلاغ أ"}, "ar", sms.NoKeyword),
		newBatchItem(guard, &sms.Inbound{From: b.Phone, MessageSID: "SMB", Channel: tawasul.ChannelSMS, Body: "بلاغ ب"}, "ar", sms.NoKeyword),
	}
	filed := make(chan struct{})
	go func() { e.fileBatch(items); close(filed) }()
	select {
	case <-filed:
	case <-guard.Done():
		t.Fatal("the batch waited for the transaction asking its residents")
	}
	if _, err := e.askInTx(ctx, tx, a, "QS-26-0001"); err != nil {
		t.Fatalf("asking the second resident: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.err != nil || it.res.Reference == "" {
			t.Errorf("%s: %+v, %v; want filed", it.in.SID, it.res, it.err)
		}
	}
	if strings.Contains(logs.String(), "batch not filed") {
		t.Errorf("the batch failed: %s", logs.String())
	}
}

// stopWhileAsking: a transaction asks the resident a question; their STOP
// arrives before it commits. After both, the resident is opted out and
// has no question open (their next "5" would have been taken as its
// answer): the STOP waits for the asking transaction and closes its
// question (prompt_contact_lock).
func stopWhileAsking(t *testing.T, earlier bool) {
	e := askingEngine(t)
	ctx := context.Background()
	c := testContact(t, e, "+966500000001", false)
	if earlier { // a question already open from before
		p := &tawasul.Prompt{ContactID: c.ID, Kind: "rating", Token: newPromptToken(), ExpiresAt: e.now().Add(time.Hour),
			Payload: map[string]any{"reference": "QS-26-0000"}}
		if err := postgres.New(e.Pool).PromptInsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	tx := e.askingTx(t, c, "QS-26-0001")
	stop := send(e, ctx, c.Phone, "SM1", "STOP")
	var got *answer
	waitFor(t, "STOP to wait for the asking transaction or finish", func() bool {
		select {
		case a := <-stop:
			got = &a
			return true
		default:
			return lockWaiters(e, 1)()
		}
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		a := <-stop
		got = &a
	}
	if got.err != nil || got.res.Reply == "" {
		t.Fatalf("STOP: %+v", got)
	}
	var optedOut bool
	if err := e.Pool.QueryRow(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE id = $1`, c.ID).Scan(&optedOut); err != nil || !optedOut {
		t.Fatalf("opted out %v (%v)", optedOut, err)
	}
	if open := openPrompts(t, e, c.ID); len(open) != 0 {
		t.Errorf("opted-out contact has questions open: %v", open)
	}
}

func TestStopWhileAskingClosesTheNewQuestion(t *testing.T) { t.Parallel(); stopWhileAsking(t, false) }
func TestStopWhileAskingClosesTheEarlierAndTheNewQuestion(t *testing.T) {
	t.Parallel()
	stopWhileAsking(t, true)
}

// TestOptOutCallbackWhileAskingClosesTheQuestion: a 21610 status callback
// (message_status_advance) lands while a transaction asks the resident.
func TestOptOutCallbackWhileAskingClosesTheQuestion(t *testing.T) {
	t.Parallel()
	e := askingEngine(t)
	ctx := context.Background()
	c := testContact(t, e, "+966500000001", false)
	if _, err := e.Pool.Exec(ctx, `INSERT INTO messages (contact_id, direction, channel, body, status, twilio_sid)
		VALUES ($1, 'outbound', 'sms', 'x', 'sent', 'SMOUT')`, c.ID); err != nil {
		t.Fatal(err)
	}
	tx := e.askingTx(t, c, "QS-26-0001")
	done := make(chan error, 1)
	go func() {
		_, err := e.Pool.Exec(ctx, `SELECT message_status_advance('SMOUT', 'undelivered', 21610)`)
		done <- err
	}()
	finished := false
	waitFor(t, "the callback to wait or finish", func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
			finished = true
			return true
		default:
			return lockWaiters(e, 1)()
		}
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if open := openPrompts(t, e, c.ID); len(open) != 0 {
		t.Errorf("opted-out contact has questions open: %v", open)
	}
}
