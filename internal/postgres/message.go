package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// MessagesByContact returns a contact's messages, oldest first.
func (s *Store) MessagesByContact(ctx context.Context, contactID int64) ([]*tawasul.Message, error) {
	rows, err := s.db.Query(ctx, `SELECT id, contact_id, submission_id, direction, channel, body, purpose, status,
		twilio_sid, error_code, created_at, updated_at FROM messages WHERE contact_id = $1 ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("postgres: messages by contact: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.Message, error) {
		var m tawasul.Message
		err := row.Scan(&m.ID, &m.ContactID, &m.SubmissionID, &m.Direction, &m.Channel, &m.Body, &m.Purpose, &m.Status,
			&m.TwilioSID, &m.ErrorCode, &m.CreatedAt, &m.UpdatedAt)
		return &m, err
	})
}

// statusRank orders outbound delivery statuses; a message's status only
// moves to a higher rank. failed and undelivered are final.
const statusRank = `CASE %s WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'queued' THEN 1 WHEN 'sending' THEN 2
	WHEN 'sent' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5
	WHEN 'undelivered' THEN 9 WHEN 'failed' THEN 9 WHEN 'canceled' THEN 9 WHEN 'cancelled' THEN 9 ELSE -1 END`

// MessageAdvanceStatus applies a delivery status callback: the outbound
// message with sid moves to status (with errorCode, if any) only if that is
// a step forward. It reports whether anything changed; late, repeated and
// out-of-order callbacks change nothing.
func (s *Store) MessageAdvanceStatus(ctx context.Context, sid, status string, errorCode *int) (bool, error) {
	q := fmt.Sprintf(`UPDATE messages SET status = $2, error_code = coalesce($3, error_code), updated_at = now()
		WHERE twilio_sid = $1 AND direction = 'outbound' AND %s < %s AND %s < 9`,
		fmt.Sprintf(statusRank, "status"), fmt.Sprintf(statusRank, "$2::text"), fmt.Sprintf(statusRank, "status"))
	tag, err := s.db.Exec(ctx, q, sid, status, errorCode)
	if err != nil {
		return false, fmt.Errorf("postgres: message advance status: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
