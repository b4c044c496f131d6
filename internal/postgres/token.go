package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

// APITokenInsert stores a new API token by its hash.
func (s *Store) APITokenInsert(ctx context.Context, name string, role tawasul.Role, hash []byte, prefix string) (*tawasul.APIToken, error) {
	t := tawasul.APIToken{Name: name, Role: role, Prefix: prefix}
	err := s.db.QueryRow(ctx, `INSERT INTO api_tokens (name, role, token_hash, prefix) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, name, string(role), hash, prefix).Scan(&t.ID, &t.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("postgres: api token insert: %w", err)
	}
	return &t, nil
}

// APITokenByHash returns the live (not revoked) token with hash and records
// its use, or returns EUNAUTHORIZED.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (*tawasul.APIToken, error) {
	var t tawasul.APIToken
	var role string
	err := s.db.QueryRow(ctx, `UPDATE api_tokens SET last_used_at = now()
		WHERE token_hash = $1 AND revoked_at IS NULL
		RETURNING id, name, role, prefix, created_at, last_used_at`, hash).
		Scan(&t.ID, &t.Name, &role, &t.Prefix, &t.CreatedAt, &t.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.EUNAUTHORIZED, "error.token_invalid", "invalid or revoked API token")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: api token by hash: %w", err)
	}
	t.Role = tawasul.Role(role)
	return &t, nil
}

// APITokenList returns every token, revoked ones included.
func (s *Store) APITokenList(ctx context.Context) ([]*tawasul.APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, role, prefix, created_at, last_used_at, revoked_at
		FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: api token list: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.APIToken, error) {
		var t tawasul.APIToken
		var role string
		err := row.Scan(&t.ID, &t.Name, &role, &t.Prefix, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
		t.Role = tawasul.Role(role)
		return &t, err
	})
}

// APITokenRevoke revokes the token with id. Returns ENOTFOUND when there is
// no live token with that id.
func (s *Store) APITokenRevoke(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("postgres: api token revoke: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tawasul.Errorf(tawasul.ENOTFOUND, "error.token_not_found", "no live token with that id")
	}
	return nil
}
