package app

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"tawasul/internal/tawasul"
	"tawasul/jobs"
)

// outboundBody is the text of the messages --outbound queues: one Arabic
// SMS segment, like the notices a campaign sends.
const outboundBody = "تذكير: فعالية تنظيف حديقة الحي يوم السبت الساعة ٨ صباحاً"

// outboundCampaign is a batch of outbound messages queued by --outbound.
type outboundCampaign struct {
	pool   *pgxpool.Pool
	n      int       // messages queued
	before int       // of which already sent when queueing ended
	start  time.Time // when queueing ended
}

// outboundPurpose marks the messages --outbound queues.
const outboundPurpose = "loadgen"

// queueOutbound puts n pending outbound SMS, with their send_message jobs,
// into the database at dsn the way the product queues them
// (jobs.QueueMessage, 500 per transaction), addressed to 1,000 contacts of
// its own. The instance's River workers start sending them at once. Only
// for the instance loadgen starts itself, which runs the Twilio simulator:
// the numbers are real Saudi mobiles.
func queueOutbound(ctx context.Context, dsn string, n int) (c *outboundCampaign, err error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{}) // insert-only
	if err != nil {
		return nil, fmt.Errorf("outbound: river client: %w", err)
	}
	// +966580000000 to +966580000999: valid Saudi mobile numbers.
	rows, err := pool.Query(ctx, `INSERT INTO contacts (phone)
		SELECT '+9665800' || lpad(i::text, 5, '0') FROM generate_series(0, 999) i
		ON CONFLICT (phone) DO UPDATE SET last_seen_at = contacts.last_seen_at
		RETURNING id`)
	if err != nil {
		return nil, fmt.Errorf("outbound: contacts: %w", err)
	}
	contacts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("outbound: contacts: %w", err)
	}
	const perTx = 500
	for done := 0; done < n; done += perTx {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for i := done; i < min(n, done+perTx); i++ {
				m := &tawasul.Message{ContactID: contacts[i%len(contacts)], Channel: tawasul.ChannelSMS,
					Body: outboundBody, Purpose: outboundPurpose}
				if err := jobs.QueueMessage(ctx, tx, rc, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("outbound: queue: %w", err)
		}
	}
	c = &outboundCampaign{pool: pool, n: n}
	if c.before, _, err = c.count(ctx); err != nil {
		return nil, err
	}
	c.start = time.Now()
	return c, nil
}

// count returns how many of the campaign's messages Twilio has accepted
// (they carry a SID) and how many are still waiting to be sent.
func (c *outboundCampaign) count(ctx context.Context) (sent, pending int, err error) {
	err = c.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE twilio_sid IS NOT NULL),
			count(*) FILTER (WHERE status = 'pending')
		FROM messages WHERE purpose = $1 AND direction = 'outbound'`, outboundPurpose).Scan(&sent, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("outbound: count: %w", err)
	}
	return sent, pending, nil
}

// progress says how many messages were sent since queueing ended, how
// fast, and whether the queue ran dry before now (then part of the run had
// nothing to send).
func (c *outboundCampaign) progress(ctx context.Context) (string, error) {
	sent, pending, err := c.count(ctx)
	if err != nil {
		return "", err
	}
	d := time.Since(c.start)
	msg := fmt.Sprintf("%d of %d queued outbound messages were sent from Tawasul's first warm-up to the end of its last phase (%.0f/s), %d still pending",
		sent-c.before, c.n, float64(sent-c.before)/d.Seconds(), pending)
	if pending == 0 {
		msg += " (the queue ran dry before the end: raise --outbound)"
	}
	return msg, nil
}

func (c *outboundCampaign) close() { c.pool.Close() }
