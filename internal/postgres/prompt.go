package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

const promptColumns = `id, contact_id, submission_id, kind, payload, attempts, token, expires_at, closed_at, created_at`

func scanPrompt(row pgx.Row) (*tawasul.Prompt, error) {
	var p tawasul.Prompt
	var token *string
	err := row.Scan(&p.ID, &p.ContactID, &p.SubmissionID, &p.Kind, &p.Payload, &p.Attempts, &token,
		&p.ExpiresAt, &p.ClosedAt, &p.CreatedAt)
	if token != nil {
		p.Token = *token
	}
	return &p, err
}

// PromptInsert opens p for its contact, closing (as superseded) any prompt
// the contact still had open: the newest question wins. Questions for one
// contact are asked one at a time: a transaction-level advisory lock per
// contact (prompt_contact_lock, migration 00018) makes a second wait for
// the first's transaction to end, and then replace its question, instead
// of failing on the one-open-prompt index; an opt-out takes it too
// (PromptCloseOpen), so none misses a question being asked.
// (Not the contact's row: every inbound message locks that one, and a
// transaction asking several residents would hold up, or deadlock with, a
// batch filing their messages.) A contact who has opted out, or whose
// number Twilio called invalid, gets ECONFLICT and nothing is written.
func (s *Store) PromptInsert(ctx context.Context, p *tawasul.Prompt) error {
	if _, err := s.db.Exec(ctx, `SELECT prompt_contact_lock($1)`, p.ContactID); err != nil {
		return fmt.Errorf("postgres: prompt insert: %w", err)
	}
	var reachable bool
	err := s.db.QueryRow(ctx, `SELECT opted_out_at IS NULL AND invalid_at IS NULL FROM contacts WHERE id = $1`,
		p.ContactID).Scan(&reachable)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return tawasul.Errorf(tawasul.ENOTFOUND, "error.contact_not_found", "no such contact")
	case err != nil:
		return fmt.Errorf("postgres: prompt insert: %w", err)
	case !reachable:
		return ErrContactUnreachable
	}
	if _, err := s.db.Exec(ctx, `UPDATE prompts SET closed_at = now(), answer = '{"closed":"superseded"}'
		WHERE contact_id = $1 AND closed_at IS NULL`, p.ContactID); err != nil {
		return fmt.Errorf("postgres: prompt insert: %w", err)
	}
	if p.Payload == nil {
		p.Payload = map[string]any{}
	}
	err = s.db.QueryRow(ctx, `INSERT INTO prompts (contact_id, submission_id, kind, payload, token, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
		p.ContactID, p.SubmissionID, p.Kind, p.Payload, p.Token, p.ExpiresAt).Scan(&p.ID, &p.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: prompt insert: %w", err)
	}
	return nil
}

// PromptOpenForUpdate returns the contact's open prompt (expired or not),
// locked until the transaction ends, or ENOTFOUND.
func (s *Store) PromptOpenForUpdate(ctx context.Context, contactID int64) (*tawasul.Prompt, error) {
	p, err := scanPrompt(s.db.QueryRow(ctx, `SELECT `+promptColumns+` FROM prompts
		WHERE contact_id = $1 AND closed_at IS NULL FOR UPDATE`, contactID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.prompt_not_found", "no open question")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: prompt open: %w", err)
	}
	return p, nil
}

// PromptByTokenForUpdate returns the prompt whose web link carries token,
// open or not, locked until the transaction ends, or ENOTFOUND.
func (s *Store) PromptByTokenForUpdate(ctx context.Context, token string) (*tawasul.Prompt, error) {
	p, err := scanPrompt(s.db.QueryRow(ctx, `SELECT `+promptColumns+` FROM prompts WHERE token = $1 FOR UPDATE`, token))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "prompt.not_found", "no such question")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: prompt by token: %w", err)
	}
	return p, nil
}

// PromptNotUnderstood counts an answer the prompt's kind could not read.
func (s *Store) PromptNotUnderstood(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE prompts SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: prompt not understood: %w", err)
	}
	return nil
}

// PromptClose closes prompt id with answer (what was answered, or why it
// closed unanswered) given via channel ("" when unanswered).
func (s *Store) PromptClose(ctx context.Context, id int64, answer map[string]any, via string) error {
	var v *string
	if via != "" {
		v = &via
	}
	_, err := s.db.Exec(ctx, `UPDATE prompts SET closed_at = now(), answer = $2, answered_via = $3
		WHERE id = $1 AND closed_at IS NULL`, id, answer, v)
	if err != nil {
		return fmt.Errorf("postgres: prompt close: %w", err)
	}
	return nil
}

// PromptCloseOpen closes the contact's open prompt, if any, with reason
// (e.g. "opted_out"). It first waits for any transaction asking the
// contact a question (prompt_contact_lock, held until this one ends), so
// that it closes that question too; an opt-out must update the contact's
// row before calling it, so that a question asked after it sees the
// opt-out and is refused.
func (s *Store) PromptCloseOpen(ctx context.Context, contactID int64, reason string) error {
	if _, err := s.db.Exec(ctx, `SELECT prompt_contact_lock($1)`, contactID); err != nil {
		return fmt.Errorf("postgres: prompt close open: %w", err)
	}
	_, err := s.db.Exec(ctx, `UPDATE prompts SET closed_at = now(), answer = jsonb_build_object('closed', $2::text)
		WHERE contact_id = $1 AND closed_at IS NULL`, contactID, reason)
	if err != nil {
		return fmt.Errorf("postgres: prompt close open: %w", err)
	}
	return nil
}
