package conversation

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/sms"
)

// Group commit. Every inbound message joins one queue, and batchFlights
// filers take batches from it. Most messages take the common path: stored
// and filed as detail or as a new submission. Those in a batch are filed
// with one statement (Store.InboundBatch), which is its own transaction,
// instead of a transaction each: on a busy number that saves most of the
// per-transaction cost (docs/benchmarks.md). Nothing waits for a batch to
// fill: a message is filed as soon as a filer is free, with whatever else
// has queued meanwhile.
//
// One resident's messages are acted on in the order they arrived:
//   - A filer skips the messages of a phone number that the other filer's
//     batch holds; they wait in the queue for the next batch. So two
//     batches never hold the same contact, and never wait on each other.
//   - A keyword (STOP, HELP…) is handled on its own, after the batch
//     commits; a batch takes it only as its resident's first message in
//     the batch, and nothing of that resident after it.
//   - A message the batch could not take (the batch failed, or the contact
//     has a question open) is handled on its own too. So is every message
//     of a resident who has one with too little of its webhook's time left
//     (batchMinTime): those are filed at once, beside the batch.
//
// The filer handles those, each resident's in order (different residents'
// at the same time), before it lets go of their phone numbers, so nothing
// the same resident sends later can overtake them. The one exception is a
// message whose webhook gives up before it is stored (in the queue, or
// while it is filed on its own): Twilio has its 503 or its timeout, the
// resident's next message is filed all the same, and if Twilio delivers
// the first again, through the fallback URL, it comes after that one.
//
// Each webhook is answered only after the transaction holding its message
// has committed. No River job is enqueued on this path yet; when a new
// submission triggers one (routing), fileCommon must open a transaction
// again, around InboundBatch and River's InsertManyTx, so that the job
// commits with the submission.
const (
	batchFlights = 2  // filers, each filing one batch at a time on its own connection
	batchMax     = 64 // messages per batch at most
	// batchMinTime is the least time a message's webhook must have left
	// for the message to join a batch: the batch must commit before the
	// earliest deadline among its messages, and one message about to time
	// out must not cut its batch short. Such a message, and its
	// resident's others, are filed on their own instead (fileBatch).
	batchMinTime = 500 * time.Millisecond
	// batchAnswerMargin is how long before the earliest deadline among its
	// messages a batch's statement is cancelled. A statement that commits
	// just as it is cancelled looks failed; its messages are then filed
	// again one by one, which finds them stored (as duplicates, with their
	// replies) in the time this margin leaves, so no webhook answers 503
	// for a message that was stored.
	batchAnswerMargin = 250 * time.Millisecond
)

// batcher queues messages for the filers. The zero value is ready.
type batcher struct {
	mu      sync.Mutex
	queue   []*batchItem
	running int             // filers at work
	filing  map[string]bool // phone numbers in the batches being filed
	minTime time.Duration   // batchMinTime when 0; tests lengthen it

	repliesOnce sync.Once
	replies     map[string]postgres.BatchReplies // see Engine.commonReplies
}

type batchItem struct {
	ctx     context.Context // the webhook's: its deadline bounds the batch's
	msg     *sms.Inbound
	lang    string      // detected in msg's text; "" when it tells nothing
	keyword sms.Keyword // handled alone unless NoKeyword
	in      postgres.InboundItem
	done    chan struct{} // closed when res or err is set
	res     *Result
	err     error
}

func newBatchItem(ctx context.Context, msg *sms.Inbound, lang string, keyword sms.Keyword) *batchItem {
	return &batchItem{ctx: ctx, msg: msg, lang: lang, keyword: keyword, done: make(chan struct{}),
		in: postgres.InboundItem{Phone: msg.From, Language: lang, SID: msg.MessageSID, Channel: msg.Channel,
			Body: msg.Body, Kind: sms.ClassifyKind(msg.Body), Media: msg.Media}}
}

// fileQueued queues msg (lang detected in its text, holding keyword) for
// the filers and returns what HandleInbound returns, once the transaction
// that stored it has committed. An error means it was not stored. If ctx
// ends while the message is still queued, it is taken out and ctx's error
// returned; once a filer has it, fileQueued waits for the filer, which may
// store it.
func (e *Engine) fileQueued(ctx context.Context, msg *sms.Inbound, lang string, keyword sms.Keyword) (*Result, error) {
	it := newBatchItem(ctx, msg, lang, keyword)
	b := &e.batch
	b.mu.Lock()
	b.queue = append(b.queue, it)
	if b.running < batchFlights {
		b.running++
		go e.fileQueue()
	}
	b.mu.Unlock()
	select {
	case <-it.done:
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.queue, it); i >= 0 {
			b.queue = slices.Delete(b.queue, i, i+1)
			b.mu.Unlock()
			return nil, ctx.Err()
		}
		b.mu.Unlock()
		<-it.done
	}
	return it.res, it.err
}

// fileQueue files batches until the queue holds nothing it may take: a
// batch is the oldest messages (batchMax at most) whose phone numbers no
// other batch is filing, and for each phone number, its messages up to
// and including its first keyword, or before it if the batch already holds
// one of that resident's messages. Skipped messages wait for the next
// batch, this filer's or the other's.
func (e *Engine) fileQueue() {
	b := &e.batch
	for {
		b.mu.Lock()
		if b.filing == nil {
			b.filing = make(map[string]bool)
		}
		var batch []*batchItem
		mine := map[string]bool{} // phone numbers in batch
		full := map[string]bool{} // phone numbers whose later messages wait
		b.queue = slices.DeleteFunc(b.queue, func(it *batchItem) bool {
			p := it.in.Phone
			switch {
			case len(batch) == batchMax || full[p] || (b.filing[p] && !mine[p]):
				return false
			case it.keyword != sms.NoKeyword:
				full[p] = true
				if mine[p] {
					return false
				}
			}
			batch = append(batch, it)
			mine[p] = true
			return true
		})
		if len(batch) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		for p := range mine {
			b.filing[p] = true
		}
		b.mu.Unlock()
		e.fileBatchSafe(batch)
		b.mu.Lock()
		for p := range mine {
			delete(b.filing, p)
		}
		b.mu.Unlock()
	}
}

// fileBatchSafe runs fileBatch. Filers run outside any request's panic
// recovery: if filing panics, every message of batch not yet answered gets
// an error (its webhook answers 503, so Twilio tries again) and the filer
// goes on with the queue.
func (e *Engine) fileBatchSafe(batch []*batchItem) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err := fmt.Errorf("filing panicked: %v", r)
		e.logger().Error("conversation: filing a batch panicked", "messages", len(batch), "panic", r, "stack", string(debug.Stack()))
		for _, it := range batch {
			select {
			case <-it.done:
			default:
				it.res, it.err = nil, err
				close(it.done)
			}
		}
	}()
	e.fileBatch(batch)
}

// fileBatch files batch with one statement (its own transaction) and
// hands each item its outcome. The statement must end batchAnswerMargin
// before the earliest deadline among its messages, so that none is stored
// after its webhook answered that it was not. A message whose webhook has
// given up gets its error at once. A resident with a message that has less
// than batchMinTime left is left out of the statement: all their messages
// in the batch are filed one by one, in order, at once and beside it, so
// that they neither cut the batch short nor wait for it. If the statement
// fails, or finds a contact with a question open, those messages are
// handled one by one too, each in its own transaction, in the order they
// arrived.
func (e *Engine) fileBatch(batch []*batchItem) {
	latePhones := map[string]bool{}
	for _, it := range batch {
		if d, ok := it.ctx.Deadline(); ok && it.ctx.Err() == nil && time.Until(d) < cmp.Or(e.batch.minTime, batchMinTime) {
			latePhones[it.in.Phone] = true
		}
	}
	var live, late []*batchItem
	var deadline time.Time
	for _, it := range batch {
		d, ok := it.ctx.Deadline()
		switch {
		case it.ctx.Err() != nil:
			it.err = it.ctx.Err()
			close(it.done)
		case latePhones[it.in.Phone]:
			late = append(late, it)
		default:
			live = append(live, it)
			if ok && (deadline.IsZero() || d.Before(deadline)) {
				deadline = d
			}
		}
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-batchAnswerMargin))
	}
	defer cancel()

	// Contacts are locked in phone order (one resident's messages keep
	// their order), as a second guard against waiting in a cycle.
	slices.SortStableFunc(live, byPhone)
	slices.SortStableFunc(late, byPhone)
	var keywords []*batchItem // the only message of their resident in the batch
	live = slices.DeleteFunc(live, func(it *batchItem) bool {
		if it.keyword != sms.NoKeyword {
			keywords = append(keywords, it)
			return true
		}
		return false
	})
	// Keywords, late residents and the common path hold different
	// residents: they run at once, and all end before the filer lets go of
	// their phone numbers (also when fileCommon panics).
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { e.answerEachAlone(keywords) })
	wg.Go(func() { e.answerEachAlone(late) })
	e.fileCommon(ctx, live)
}

func byPhone(a, b *batchItem) int { return cmp.Compare(a.in.Phone, b.in.Phone) }

// fileCommon files live (no keywords; sorted by phone number, each
// resident's messages in arrival order) in one transaction, or each on its
// own when the transaction fails or a contact has a question open.
func (e *Engine) fileCommon(ctx context.Context, live []*batchItem) {
	if len(live) == 0 {
		return
	}
	items := make([]postgres.InboundItem, len(live))
	for i, it := range live {
		items[i] = it.in
	}
	now := e.now()
	filing := postgres.InboundBatchFiling{FollowupSince: now.Add(-e.FollowupWindow),
		ReferencePrefix: e.ReferencePrefix, Year: now.In(i18n.Riyadh).Year(), Replies: e.commonReplies()}
	// One statement is a transaction of its own: no BEGIN and COMMIT round
	// trips. After an error every item is filed again on its own, which
	// finds any that were stored, as duplicates with their replies.
	out, err := postgres.New(e.Pool).InboundBatch(ctx, items, filing)
	if err != nil {
		e.logger().Warn("conversation: batch not filed; filing its messages one by one", "messages", len(live), "error", err)
	}
	var alone []*batchItem
	for i, it := range live {
		switch {
		case err != nil:
			alone = append(alone, it)
		case out[i].Outcome == postgres.BatchDuplicate:
			it.res = &Result{Reply: out[i].Reply, Duplicate: true}
			close(it.done)
		case out[i].Outcome == postgres.BatchFiled:
			it.res = &Result{Reply: out[i].Reply, Reference: out[i].Reference}
			close(it.done)
		default: // postgres.BatchPrompt: nothing was stored
			alone = append(alone, it)
		}
	}
	e.answerEachAlone(alone)
}

// answerEachAlone handles items (sorted by phone number, each resident's in
// arrival order) each in a transaction of its own: one resident's in order,
// different residents' at the same time, so that a slow one holds up only
// its own resident. It returns when all are answered.
func (e *Engine) answerEachAlone(items []*batchItem) {
	var wg sync.WaitGroup
	for len(items) > 0 {
		n := 1
		for n < len(items) && items[n].in.Phone == items[0].in.Phone {
			n++
		}
		run := items[:n]
		items = items[n:]
		wg.Go(func() {
			for _, it := range run {
				e.answerAlone(it)
			}
		})
	}
	wg.Wait()
}

// answerAlone handles it in a transaction of its own and answers its
// webhook. A panic fails it (503; Twilio tries again), not the process.
func (e *Engine) answerAlone(it *batchItem) {
	defer func() {
		if r := recover(); r != nil {
			it.res, it.err = nil, fmt.Errorf("filing panicked: %v", r)
			e.logger().Error("conversation: filing a message panicked", "panic", r, "stack", string(debug.Stack()))
		}
		close(it.done)
	}()
	it.res, it.err = e.handleAlone(it.ctx, it.msg, it.lang, it.keyword)
}

// commonReplies are the common path's reply templates (a new submission,
// added detail) in every language, with {ref} where the reference goes,
// rendered once; batches and messages handled alone both use them.
func (e *Engine) commonReplies() map[string]postgres.BatchReplies {
	b := &e.batch
	b.repliesOnce.Do(func() {
		b.replies = make(map[string]postgres.BatchReplies, len(i18n.Codes))
		for _, code := range i18n.Codes {
			l := e.Catalog.Lang(code)
			b.replies[code] = postgres.BatchReplies{New: l.T("sms.received", "Ref", "{ref}"), Detail: l.T("sms.detail_added", "Ref", "{ref}")}
		}
	})
	return b.replies
}
