package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// ReferenceNext allocates the next reference number of year.
func (s *Store) ReferenceNext(ctx context.Context, year int) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `INSERT INTO reference_counters (year, last) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1 RETURNING last`, year).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: reference next: %w", err)
	}
	return n, nil
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

// SubmissionOpenFollowup returns the contact's newest submission that is
// still new and had a message since since, or ENOTFOUND.
func (s *Store) SubmissionOpenFollowup(ctx context.Context, contactID int64, since time.Time) (*tawasul.Submission, error) {
	var sub tawasul.Submission
	err := s.db.QueryRow(ctx, `SELECT id, reference, channel, kind, status, language FROM submissions
		WHERE contact_id = $1 AND status = 'new' AND last_message_at >= $2
		ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, contactID, since).
		Scan(&sub.ID, &sub.Reference, &sub.Channel, &sub.Kind, &sub.Status, &sub.Language)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.submission_not_found", "no open submission")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: submission open followup: %w", err)
	}
	return &sub, nil
}

// SubmissionAddDetail appends text to a submission's body (on a new line)
// and records the message on its timeline.
func (s *Store) SubmissionAddDetail(ctx context.Context, id, messageID int64, text string) error {
	_, err := s.db.Exec(ctx, `UPDATE submissions SET body = body || E'\n' || $2, updated_at = now(), last_message_at = now()
		WHERE id = $1`, id, text)
	if err != nil {
		return fmt.Errorf("postgres: submission add detail: %w", err)
	}
	return s.SubmissionEventInsert(ctx, id, "detail_added", &messageID, nil)
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
