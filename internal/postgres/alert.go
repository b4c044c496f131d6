package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// AlertRaise records a problem an admin must fix. While an alert of the
// same kind and code is open, it bumps that alert's count instead of adding
// another.
func (s *Store) AlertRaise(ctx context.Context, kind string, code int, message string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO alerts (kind, code, message) VALUES ($1, $2, $3)
		ON CONFLICT (kind, code) WHERE resolved_at IS NULL
		DO UPDATE SET count = alerts.count + 1, last_at = now(), message = EXCLUDED.message`, kind, code, message)
	if err != nil {
		return fmt.Errorf("postgres: alert raise: %w", err)
	}
	return nil
}

// AlertsOpen returns the open alerts, newest first.
func (s *Store) AlertsOpen(ctx context.Context) ([]*tawasul.Alert, error) {
	rows, err := s.db.Query(ctx, `SELECT id, kind, code, message, count, first_at, last_at
		FROM alerts WHERE resolved_at IS NULL ORDER BY last_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: alerts open: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.Alert, error) {
		var a tawasul.Alert
		err := row.Scan(&a.ID, &a.Kind, &a.Code, &a.Message, &a.Count, &a.FirstAt, &a.LastAt)
		return &a, err
	})
}

// AlertResolve marks open alert id resolved by user userID, or returns
// ENOTFOUND.
func (s *Store) AlertResolve(ctx context.Context, id, userID int64) error {
	var got int64
	err := s.db.QueryRow(ctx, `UPDATE alerts SET resolved_at = now(), resolved_by = $2
		WHERE id = $1 AND resolved_at IS NULL RETURNING id`, id, userID).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return tawasul.Errorf(tawasul.ENOTFOUND, "error.alert_not_found", "alert not found or already resolved")
	}
	if err != nil {
		return fmt.Errorf("postgres: alert resolve: %w", err)
	}
	return nil
}
