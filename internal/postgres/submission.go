package postgres

import (
	"context"
	"fmt"
)

// SubmissionEventInsert appends an event to a submission's timeline.
func (s *Store) SubmissionEventInsert(ctx context.Context, submissionID int64, kind string, messageID *int64, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO submission_events (submission_id, kind, message_id, detail) VALUES ($1, $2, $3, $4)`,
		submissionID, kind, messageID, detail)
	if err != nil {
		return fmt.Errorf("postgres: submission event insert: %w", err)
	}
	return nil
}
