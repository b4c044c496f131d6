package postgres

import (
	"context"
	"errors"
	"fmt"

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

// ContactOptOut opts the contact out, if they are not already: from now on
// nothing is sent to them. byMessage is the inbound message that asked (a
// STOP), or nil (Twilio reported the opt-out): a replay of that message,
// and only of that one, still gets its confirmation (inbound_take,
// migration 00016).
func (s *Store) ContactOptOut(ctx context.Context, id int64, byMessage *int64) error {
	_, err := s.db.Exec(ctx, `UPDATE contacts SET opted_out_at = coalesce(opted_out_at, now()),
		opted_out_by = CASE WHEN opted_out_at IS NULL THEN $2 ELSE opted_out_by END
		WHERE id = $1`, id, byMessage)
	if err != nil {
		return fmt.Errorf("postgres: contact opt out: %w", err)
	}
	return nil
}

// ContactOptIn opts the contact back in.
func (s *Store) ContactOptIn(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE contacts SET opted_out_at = NULL, opted_out_by = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: contact opt in: %w", err)
	}
	return nil
}
