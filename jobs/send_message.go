package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
	"tawasul/internal/twiliorest"
)

// SendMessageArgs asks for outbound message MessageID (a row in messages
// with status 'pending') to be sent. The body and recipient stay in the
// row, never in the job.
type SendMessageArgs struct {
	MessageID int64 `json:"message_id"`
}

// Kind is stable: queued rows store it.
func (SendMessageArgs) Kind() string { return "send_message" }

// InsertOpts puts the job on the messages queue, once per message.
func (SendMessageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMessages, MaxAttempts: sendMaxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// sendMaxAttempts bounds retries of temporary failures; with
// SendMessageWorker.NextRetry they span about 20 minutes.
const sendMaxAttempts = 8

// QueueMessage stores m (ContactID, SubmissionID, Channel, Body, Purpose) as
// a pending outbound message and enqueues its send_message job, both in tx:
// the message exists if and only if its job does. It returns ECONFLICT for a
// contact who opted out or whose number is invalid.
func QueueMessage(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], m *tawasul.Message) error {
	if err := postgres.New(tx).MessageInsertOutbound(ctx, m); err != nil {
		return err
	}
	if _, err := rc.InsertTx(ctx, tx, SendMessageArgs{MessageID: m.ID}, nil); err != nil {
		return fmt.Errorf("enqueue send_message: %w", err)
	}
	return nil
}

// Sender is where outbound messages go and come from.
type Sender struct {
	Twilio              *twiliorest.Client
	From                string // SMS sender: E.164 number or alphanumeric ID
	MessagingServiceSID string // used instead of From when set
	WhatsAppFrom        string // "whatsapp:+…"
	StatusCallback      string // absolute URL of /twilio/sms/status
}

// SendMessageWorker sends one outbound message through Twilio, at most once:
//
//   - A message that is no longer pending (sent, failed, canceled) is left
//     alone, so a repeated job sends nothing.
//   - The attempt is recorded before CreateMessage is called. If an earlier
//     attempt may have reached Twilio (timeout, 5xx), Twilio's message list is
//     searched for it first and its SID adopted instead of sending again.
//   - Twilio's SID is stored as soon as CreateMessage returns, with any
//     status callback that arrived before it.
//   - Errors are classified (twiliorest.Classify): opted out (21610) → the
//     contact is opted out and the job cancelled; invalid or landline number
//     (21211, 21614) → the contact is flagged and the job cancelled; settings
//     errors (20003, 21606, 21408, …) → an alert for admins and the job
//     cancelled; 429, 5xx and network errors → retried with backoff; anything
//     else Twilio refuses → failed and cancelled.
type SendMessageWorker struct {
	river.WorkerDefaults[SendMessageArgs]
	pool   *pgxpool.Pool
	sender *Sender
	log    *slog.Logger
}

// NextRetry retries sooner than River's default: an SMS that arrives a day
// late is worse than one that fails. 5 s, 20 s, 45 s, … (attempt² × 5 s).
func (w *SendMessageWorker) NextRetry(job *river.Job[SendMessageArgs]) time.Time {
	n := time.Duration(max(job.Attempt, 1))
	return time.Now().Add(n * n * 5 * time.Second)
}

// Timeout bounds one attempt: a lookup and a send.
func (w *SendMessageWorker) Timeout(*river.Job[SendMessageArgs]) time.Duration {
	return 45 * time.Second
}

// Work sends the message.
func (w *SendMessageWorker) Work(ctx context.Context, job *river.Job[SendMessageArgs]) error {
	if w.sender == nil || w.sender.Twilio == nil {
		return errors.New("send_message: no Twilio client configured")
	}
	st := postgres.New(w.pool)
	m, err := st.OutboundForSend(ctx, job.Args.MessageID)
	if tawasul.ErrorCode(err) == tawasul.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if m.Status != "pending" || m.TwilioSID != nil {
		return nil // already sent or ended
	}
	if m.OptedOut || m.Invalid {
		reason := "the resident opted out"
		if m.Invalid {
			reason = "the number cannot receive messages"
		}
		if err := st.MessageFail(ctx, m.ID, "canceled", nil, reason); err != nil {
			return err
		}
		return river.JobCancel(errors.New("send_message: not sent: " + reason))
	}

	msg, err := w.address(m)
	if err != nil {
		return w.fail(ctx, m, twiliorest.ConfigError, 0, err.Error())
	}
	if m.Attempts > 0 && m.FirstAttemptAt != nil {
		// An earlier attempt may have reached Twilio: adopt it if it did.
		// A minute of slack for the clocks; SIDs already ours (an earlier
		// message with the same text) are never adopted.
		sent, found, err := w.sender.Twilio.FindSent(ctx, msg.To, msg.Body, m.FirstAttemptAt.Add(-time.Minute),
			func(sid string) (bool, error) { return st.MessageSIDKnown(ctx, sid) })
		if err != nil {
			return w.failed(ctx, job, m, err)
		}
		if found {
			w.log.Info("adopted a message an earlier attempt sent", "message_id", m.ID, "sid", sent.SID)
			return w.stored(ctx, m.ID, sent)
		}
	}
	if err := st.MessageAttempt(ctx, m.ID); err != nil {
		return err
	}
	sent, err := w.sender.Twilio.Send(ctx, msg)
	if err != nil {
		return w.failed(ctx, job, m, err)
	}
	return w.stored(ctx, m.ID, sent)
}

// address builds the Twilio message for m's channel.
func (w *SendMessageWorker) address(m *postgres.Outbound) (twiliorest.Message, error) {
	msg := twiliorest.Message{To: m.Phone, Body: m.Body, StatusCallback: w.sender.StatusCallback}
	switch m.Channel {
	case tawasul.ChannelWhatsApp:
		if w.sender.WhatsAppFrom == "" {
			return msg, errors.New("TWILIO_WHATSAPP_FROM is not set: cannot send WhatsApp messages")
		}
		msg.To = "whatsapp:" + m.Phone
		msg.From = w.sender.WhatsAppFrom
		if !strings.HasPrefix(msg.From, "whatsapp:") {
			msg.From = "whatsapp:" + msg.From
		}
	default:
		if w.sender.MessagingServiceSID == "" && w.sender.From == "" {
			return msg, errors.New("neither TWILIO_FROM nor TWILIO_MESSAGING_SERVICE_SID is set: cannot send SMS")
		}
		msg.From, msg.MessagingServiceSID = w.sender.From, w.sender.MessagingServiceSID
	}
	return msg, nil
}

// stored records Twilio's SID for message id (and any early status).
func (w *SendMessageWorker) stored(ctx context.Context, id int64, sent *twiliorest.Sent) error {
	return postgres.New(w.pool).MessageSent(ctx, id, sent.SID, sent.Status)
}

// failed handles an error from Twilio: retry it, or end the message for
// good with what it means.
func (w *SendMessageWorker) failed(ctx context.Context, job *river.Job[SendMessageArgs], m *postgres.Outbound, err error) error {
	outcome, code, text := twiliorest.Classify(err)
	if outcome != twiliorest.Retry {
		return w.fail(ctx, m, outcome, code, text)
	}
	if job.Attempt >= job.MaxAttempts {
		// Last attempt (even one cut short by a timeout): the message may
		// or may not have gone; say so to staff.
		if ferr := postgres.New(w.pool).MessageFail(context.WithoutCancel(ctx), m.ID, "failed", codeOrNil(code),
			"gave up after "+fmt.Sprint(job.Attempt)+" attempts: "+text); ferr != nil {
			return ferr
		}
	}
	w.log.Warn("send failed; will retry", "message_id", m.ID, "attempt", job.Attempt, "code", code)
	return fmt.Errorf("send_message %d: %s", m.ID, text) // text is cleaned of phone numbers
}

// fail ends m for a permanent outcome and cancels the job.
func (w *SendMessageWorker) fail(ctx context.Context, m *postgres.Outbound, outcome twiliorest.Outcome, code int, text string) error {
	status := "failed"
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		st := postgres.New(tx)
		switch outcome {
		case twiliorest.OptedOut:
			if err := st.ContactOptOut(ctx, m.ContactID, nil); err != nil {
				return err
			}
			if err := st.PromptCloseOpen(ctx, m.ContactID, "opted_out"); err != nil {
				return err
			}
		case twiliorest.InvalidNumber:
			if err := st.ContactSetInvalid(ctx, m.ContactID); err != nil {
				return err
			}
		case twiliorest.ConfigError:
			if err := st.AlertRaise(ctx, "twilio_config", code, text); err != nil {
				return err
			}
		}
		return st.MessageFail(ctx, m.ID, status, codeOrNil(code), text)
	})
	if err != nil {
		return err
	}
	w.log.Warn("message not sent", "message_id", m.ID, "outcome", outcome.String(), "code", code)
	return river.JobCancel(fmt.Errorf("send_message %d: %s (%d)", m.ID, outcome, code))
}

func codeOrNil(code int) *int {
	if code == 0 {
		return nil
	}
	return &code
}
