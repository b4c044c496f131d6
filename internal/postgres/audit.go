package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64
	At      time.Time
	UserID  *int64
	Actor   string // "user:<id>", "token:<id>", "cli" or "system"
	Action  string // dotted verb, e.g. "signin.failed", "user.created"
	Subject string
	IP      string
	Detail  map[string]any
}

// AuditInsert appends e to the audit log. Detail must hold no residents'
// personal data.
func (s *Store) AuditInsert(ctx context.Context, e AuditEntry) error {
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("postgres: audit insert: %w", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO audit_log (user_id, actor, action, subject, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.UserID, e.Actor, e.Action, e.Subject, e.IP, b)
	if err != nil {
		return fmt.Errorf("postgres: audit insert: %w", err)
	}
	return nil
}

// AuditCount counts entries with action and subject since the given time.
// Sign-in rate limiting uses it, so the limit holds across instances.
func (s *Store) AuditCount(ctx context.Context, action, subject string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND subject = $2 AND at >= $3`,
		action, subject, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: audit count: %w", err)
	}
	return n, nil
}

// AuditList returns the newest entries, at most limit, optionally filtered
// by action prefix.
func (s *Store) AuditList(ctx context.Context, actionPrefix string, limit int) ([]AuditEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, user_id, actor, action, subject, ip, detail FROM audit_log
		WHERE action LIKE $1 || '%' ORDER BY at DESC, id DESC LIMIT $2`, actionPrefix, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit list: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.UserID, &e.Actor, &e.Action, &e.Subject, &e.IP, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: audit list: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
