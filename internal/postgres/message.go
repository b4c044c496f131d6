package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// MessagesByContact returns a contact's messages, oldest first, with their
// attachments.
func (s *Store) MessagesByContact(ctx context.Context, contactID int64) ([]*tawasul.Message, error) {
	rows, err := s.db.Query(ctx, `SELECT id, contact_id, submission_id, direction, channel, body, purpose, status,
		twilio_sid, error_code, created_at, updated_at FROM messages WHERE contact_id = $1 ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("postgres: messages by contact: %w", err)
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.Message, error) {
		var m tawasul.Message
		err := row.Scan(&m.ID, &m.ContactID, &m.SubmissionID, &m.Direction, &m.Channel, &m.Body, &m.Purpose, &m.Status,
			&m.TwilioSID, &m.ErrorCode, &m.CreatedAt, &m.UpdatedAt)
		return &m, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: messages by contact: %w", err)
	}
	if err := s.attachMedia(ctx, msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}
