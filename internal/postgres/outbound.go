package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// ErrDuplicateKey is returned by MessageInsertOutbound for an
// IdempotencyKey already used for the same text on the same submission: the
// message was queued before.
var ErrDuplicateKey = tawasul.Errorf(tawasul.ECONFLICT, "error.already_queued", "this message was queued already")

// ErrKeyReused is returned by MessageInsertOutbound for an IdempotencyKey
// already used for another message (a form restored by the browser after
// sending): nothing is queued, and the sender must send again.
var ErrKeyReused = tawasul.Errorf(tawasul.ECONFLICT, "error.form_reused",
	"this form was already used to send another message; open the page again and resend")

// ErrContactUnreachable refuses to queue anything for a contact who has
// opted out or whose number Twilio called invalid.
var ErrContactUnreachable = tawasul.Errorf(tawasul.ECONFLICT, "error.contact_unreachable",
	"the resident has opted out or their number cannot receive messages")

// MessageInsertOutbound stores a message Tawasul will send, with status
// 'pending'. The caller enqueues its send_message job in the same
// transaction. It refuses (ECONFLICT) a contact who has opted out or whose
// number Twilio called invalid: nothing is ever sent to them. With an
// IdempotencyKey already used it stores nothing and returns ErrDuplicateKey
// (same submission and text) or ErrKeyReused (another message).
func (s *Store) MessageInsertOutbound(ctx context.Context, m *tawasul.Message) error {
	var key *string
	if m.IdempotencyKey != "" {
		key = &m.IdempotencyKey
	}
	err := s.db.QueryRow(ctx, `INSERT INTO messages (contact_id, submission_id, direction, channel, body, purpose, status, idempotency_key)
		SELECT id, $2, 'outbound', $3, $4, $5, 'pending', $6 FROM contacts
		WHERE id = $1 AND opted_out_at IS NULL AND invalid_at IS NULL
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id, status, created_at, updated_at`,
		m.ContactID, m.SubmissionID, m.Channel, m.Body, m.Purpose, key).Scan(&m.ID, &m.Status, &m.CreatedAt, &m.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		if key != nil {
			var same *bool
			err := s.db.QueryRow(ctx, `SELECT bool_or(submission_id IS NOT DISTINCT FROM $2 AND body = $3)
				FROM messages WHERE idempotency_key = $1`, *key, m.SubmissionID, m.Body).Scan(&same)
			if err != nil {
				return fmt.Errorf("postgres: message insert outbound: %w", err)
			}
			switch {
			case same != nil && *same:
				return ErrDuplicateKey
			case same != nil:
				return ErrKeyReused
			}
		}
		return ErrContactUnreachable
	}
	if err != nil {
		return fmt.Errorf("postgres: message insert outbound: %w", err)
	}
	m.Direction = "outbound"
	return nil
}

// Outbound is an outbound message with what the sender needs to know about
// its recipient.
type Outbound struct {
	tawasul.Message
	Attempts       int
	FirstAttemptAt *time.Time
	Phone          string // E.164
	OptedOut       bool
	Invalid        bool
}

// OutboundForSend returns outbound message id with its recipient, or
// ENOTFOUND.
func (s *Store) OutboundForSend(ctx context.Context, id int64) (*Outbound, error) {
	var o Outbound
	err := s.db.QueryRow(ctx, `SELECT m.id, m.contact_id, m.submission_id, m.channel, m.body, m.purpose, m.status,
			m.twilio_sid, m.error_code, m.attempts, m.first_attempt_at, c.phone, c.opted_out_at IS NOT NULL, c.invalid_at IS NOT NULL
		FROM messages m JOIN contacts c ON c.id = m.contact_id
		WHERE m.id = $1 AND m.direction = 'outbound'`, id).
		Scan(&o.ID, &o.ContactID, &o.SubmissionID, &o.Channel, &o.Body, &o.Purpose, &o.Status,
			&o.TwilioSID, &o.ErrorCode, &o.Attempts, &o.FirstAttemptAt, &o.Phone, &o.OptedOut, &o.Invalid)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.message_not_found", "message not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: outbound for send: %w", err)
	}
	o.Direction = "outbound"
	return &o, nil
}

// MessageAttempt records, before a CreateMessage call, that one is about to
// be made, so a later attempt knows the first may have reached Twilio.
func (s *Store) MessageAttempt(ctx context.Context, id int64) error {
	_, err := s.db.Exec(ctx, `UPDATE messages SET attempts = attempts + 1,
		first_attempt_at = coalesce(first_attempt_at, now()), updated_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: message attempt: %w", err)
	}
	return nil
}

// MessageSent stores the SID and status Twilio returned for outbound message
// id (unless it already has a SID), then applies any status callback that
// arrived for that SID first. It is one statement (message_sent, migration
// 00010), serialised per SID with MessageStatusCallback by an advisory lock,
// so it needs no transaction of its own.
func (s *Store) MessageSent(ctx context.Context, id int64, sid, status string) error {
	if _, err := s.db.Exec(ctx, `SELECT message_sent($1, $2, $3)`, id, sid, status); err != nil {
		return fmt.Errorf("postgres: message sent: %w", err)
	}
	return nil
}

// MessageStatusCallback applies a delivery status callback for sid: the
// outbound message carrying sid moves to status (with errorCode, if any)
// only if that is a step forward (queued → sent → delivered; failed and
// undelivered are final), so late, repeated and out-of-order callbacks
// change nothing; error 21610 opts the recipient out. When no message
// carries sid yet, the most advanced status is held until MessageSent
// stores it. One statement (message_status_callback, migration 00010).
func (s *Store) MessageStatusCallback(ctx context.Context, sid, status string, errorCode *int) error {
	if _, err := s.db.Exec(ctx, `SELECT message_status_callback($1, $2, $3)`, sid, status, errorCode); err != nil {
		return fmt.Errorf("postgres: status callback: %w", err)
	}
	return nil
}

// MessageFail ends outbound message id without (or after an unknown) send:
// status is 'failed' (Twilio refused it, or retries ran out) or 'canceled'
// (never sent: the recipient opted out or is unreachable). code and text
// explain why to staff.
func (s *Store) MessageFail(ctx context.Context, id int64, status string, code *int, text string) error {
	_, err := s.db.Exec(ctx, `UPDATE messages SET status = $2, error_code = $3, error_message = $4, updated_at = now()
		WHERE id = $1 AND status = 'pending'`, id, status, code, text)
	if err != nil {
		return fmt.Errorf("postgres: message fail: %w", err)
	}
	return nil
}

// ContactSetInvalid flags the contact's number as unable to receive
// messages; nothing more is sent to it.
func (s *Store) ContactSetInvalid(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE contacts SET invalid_at = coalesce(invalid_at, now()) WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: contact set invalid: %w", err)
	}
	return nil
}

// MessageStatusEarlyPurge deletes held status callbacks older than before
// (their message never got a SID: Twilio's, not ours).
func (s *Store) MessageStatusEarlyPurge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM message_status_early WHERE received_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: purge early statuses: %w", err)
	}
	return tag.RowsAffected(), nil
}

// MessageSIDKnown reports whether a message of ours carries sid.
func (s *Store) MessageSIDKnown(ctx context.Context, sid string) (bool, error) {
	var known bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE twilio_sid = $1)`, sid).Scan(&known); err != nil {
		return false, fmt.Errorf("postgres: message sid known: %w", err)
	}
	return known, nil
}
