package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

const contactColumns = `id, phone, language, opted_out_at, invalid_at, first_seen_at, last_seen_at`

func scanContact(row pgx.Row) (*tawasul.Contact, error) {
	var c tawasul.Contact
	err := row.Scan(&c.ID, &c.Phone, &c.Language, &c.OptedOutAt, &c.InvalidAt, &c.FirstSeenAt, &c.LastSeenAt)
	return &c, err
}

// ContactByPhone returns the contact with phone, or ENOTFOUND.
func (s *Store) ContactByPhone(ctx context.Context, phone string) (*tawasul.Contact, error) {
	c, err := scanContact(s.db.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE phone = $1`, phone))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.contact_not_found", "contact not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: contact by phone: %w", err)
	}
	return c, nil
}

// ContactSetOptedOut opts the contact out (at now) or back in (nil).
func (s *Store) ContactSetOptedOut(ctx context.Context, id int64, at *time.Time) error {
	if _, err := s.db.Exec(ctx, `UPDATE contacts SET opted_out_at = $2 WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("postgres: contact set opted out: %w", err)
	}
	return nil
}
