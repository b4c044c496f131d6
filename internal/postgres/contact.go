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

// ContactSetOptedOut opts the contact out or back in. An opt-out is dated
// now() in the database, the start of the transaction: a message stored in
// the same transaction (the STOP itself) is not before it, so a replay of
// that message still gets its confirmation, and a replay of any earlier
// one gets nothing (inbound_take, migration 00016).
func (s *Store) ContactSetOptedOut(ctx context.Context, id int64, optedOut bool) error {
	_, err := s.db.Exec(ctx, `UPDATE contacts SET opted_out_at = CASE WHEN $2 THEN now() END WHERE id = $1`, id, optedOut)
	if err != nil {
		return fmt.Errorf("postgres: contact set opted out: %w", err)
	}
	return nil
}
