package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// ReferenceNext allocates the next public reference of year, such as
// QS-26-0173 (SQL function reference_next, migration 00005), from the
// year's sequence: it never waits, and a transaction that rolls back leaves
// a gap.
func (s *Store) ReferenceNext(ctx context.Context, prefix string, year int) (string, error) {
	var ref string
	if err := s.db.QueryRow(ctx, `SELECT reference_next($1, $2)`, prefix, year).Scan(&ref); err != nil {
		return "", fmt.Errorf("postgres: reference next: %w", err)
	}
	return ref, nil
}

// SubmissionInsert stores a new submission with status new and its
// "created" timeline event.
func (s *Store) SubmissionInsert(ctx context.Context, sub *tawasul.Submission) error {
	err := s.db.QueryRow(ctx, `INSERT INTO submissions (reference, contact_id, channel, kind, body, language)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, status, created_at, updated_at, last_message_at`,
		sub.Reference, sub.ContactID, sub.Channel, sub.Kind, sub.Body, sub.Language).
		Scan(&sub.ID, &sub.Status, &sub.CreatedAt, &sub.UpdatedAt, &sub.LastMessageAt)
	if err != nil {
		return fmt.Errorf("postgres: submission insert: %w", err)
	}
	return s.SubmissionEventInsert(ctx, sub.ID, "created", nil, nil)
}

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

// SubmissionByReference returns the submission with ref, or ENOTFOUND.
func (s *Store) SubmissionByReference(ctx context.Context, ref string) (*tawasul.Submission, error) {
	var sub tawasul.Submission
	err := s.db.QueryRow(ctx, `SELECT s.id, s.reference, s.contact_id, s.channel, s.kind, s.status, s.body, s.language,
			coalesce(d.code, ''), s.created_at, s.updated_at, s.last_message_at
		FROM submissions s LEFT JOIN departments d ON d.id = s.department_id WHERE s.reference = $1`, ref).
		Scan(&sub.ID, &sub.Reference, &sub.ContactID, &sub.Channel, &sub.Kind, &sub.Status, &sub.Body, &sub.Language,
			&sub.DepartmentCode, &sub.CreatedAt, &sub.UpdatedAt, &sub.LastMessageAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.submission_not_found", "submission not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: submission by reference: %w", err)
	}
	return &sub, nil
}
