package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/tawasul"
)

const userColumns = `u.id, u.email, u.name, u.roles, u.department_id, coalesce(d.code, ''),
	coalesce(d.name_ar, ''), coalesce(d.name_en, ''), u.must_change_password, u.disabled_at, u.created_at, u.last_sign_in_at, u.previous_sign_in_at, u.password_changed_at`

func scanUser(row pgx.Row) (*tawasul.User, error) {
	var u tawasul.User
	var roles []string
	err := row.Scan(&u.ID, &u.Email, &u.Name, &roles, &u.DepartmentID, &u.DepartmentCode,
		&u.DepartmentName.Ar, &u.DepartmentName.En, &u.MustChangePassword, &u.DisabledAt, &u.CreatedAt, &u.LastSignInAt, &u.PreviousSignInAt, &u.PasswordChangedAt)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, tawasul.Role(r))
	}
	return &u, nil
}

// UserInsertParams are the fields of a new staff user.
type UserInsertParams struct {
	Email              string // already normalised
	Name               string
	PasswordHash       string
	Roles              []tawasul.Role
	DepartmentCode     string // required with RoleDepartment, else empty
	MustChangePassword bool
}

// UserInsert creates a user. It returns ECONFLICT when the e-mail is taken and
// EINVALID when the department code is unknown or does not fit the roles.
func (s *Store) UserInsert(ctx context.Context, p UserInsertParams) (*tawasul.User, error) {
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	var deptID *int64
	if p.DepartmentCode != "" {
		id, err := s.DepartmentIDByCode(ctx, p.DepartmentCode)
		if err != nil {
			return nil, err
		}
		deptID = &id
	}
	const q = `INSERT INTO users (email, name, password_hash, roles, department_id, must_change_password)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	var id int64
	err := s.db.QueryRow(ctx, q, p.Email, p.Name, p.PasswordHash, roles, deptID, p.MustChangePassword).Scan(&id)
	switch {
	case isUniqueViolation(err, "users_email_key"):
		return nil, tawasul.Errorf(tawasul.ECONFLICT, "error.email_taken", "a user with this e-mail already exists")
	case isCheckViolation(err, "users_department_role"):
		return nil, tawasul.Errorf(tawasul.EINVALID, "error.department_role", "the department role needs a department, and only it")
	case err != nil:
		return nil, fmt.Errorf("postgres: user insert: %w", err)
	}
	return s.UserGetByID(ctx, id)
}

// UserGetByID returns the user with id, or ENOTFOUND.
func (s *Store) UserGetByID(ctx context.Context, id int64) (*tawasul.User, error) {
	q := `SELECT ` + userColumns + ` FROM users u LEFT JOIN departments d ON d.id = u.department_id WHERE u.id = $1`
	u, err := scanUser(s.db.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tawasul.Errorf(tawasul.ENOTFOUND, "error.user_not_found", "user not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: user get: %w", err)
	}
	return u, nil
}

// UserCredentials returns the user with email and their password hash, or
// ENOTFOUND.
func (s *Store) UserCredentials(ctx context.Context, email string) (*tawasul.User, string, error) {
	q := `SELECT ` + userColumns + `, u.password_hash FROM users u
		LEFT JOIN departments d ON d.id = u.department_id WHERE u.email = $1`
	var u tawasul.User
	var roles []string
	var hash string
	err := s.db.QueryRow(ctx, q, email).Scan(&u.ID, &u.Email, &u.Name, &roles, &u.DepartmentID, &u.DepartmentCode,
		&u.DepartmentName.Ar, &u.DepartmentName.En, &u.MustChangePassword, &u.DisabledAt, &u.CreatedAt, &u.LastSignInAt, &u.PreviousSignInAt, &u.PasswordChangedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", tawasul.Errorf(tawasul.ENOTFOUND, "error.user_not_found", "user not found")
	}
	if err != nil {
		return nil, "", fmt.Errorf("postgres: user credentials: %w", err)
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, tawasul.Role(r))
	}
	return &u, hash, nil
}

// UserList returns every user, newest last.
func (s *Store) UserList(ctx context.Context) ([]*tawasul.User, error) {
	q := `SELECT ` + userColumns + ` FROM users u LEFT JOIN departments d ON d.id = u.department_id ORDER BY u.id`
	rows, err := s.db.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgres: user list: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tawasul.User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: user list: %w", err)
	}
	return users, nil
}

// UserCount returns how many users exist, disabled ones included.
func (s *Store) UserCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: user count: %w", err)
	}
	return n, nil
}

// UserSetPassword replaces the password hash of the user with email and sets
// whether it must be changed at the next sign-in. The sessions signed in
// before it end (password_changed_at, migration 00014). Returns ENOTFOUND.
func (s *Store) UserSetPassword(ctx context.Context, email, hash string, mustChange bool) error {
	tag, err := s.db.Exec(ctx, `UPDATE users SET password_hash = $2, must_change_password = $3,
		password_changed_at = now(), updated_at = now() WHERE email = $1`, email, hash, mustChange)
	if err != nil {
		return fmt.Errorf("postgres: user set password: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tawasul.Errorf(tawasul.ENOTFOUND, "error.user_not_found", "user not found")
	}
	return nil
}

// UserSetDisabled disables (or re-enables) the user with email and, when
// disabling, ends all of their sessions. Returns ENOTFOUND.
func (s *Store) UserSetDisabled(ctx context.Context, email string, disabled bool) error {
	var at *time.Time
	if disabled {
		now := time.Now()
		at = &now
	}
	tag, err := s.db.Exec(ctx, `UPDATE users SET disabled_at = $2, updated_at = now() WHERE email = $1`, email, at)
	if err != nil {
		return fmt.Errorf("postgres: user set disabled: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return tawasul.Errorf(tawasul.ENOTFOUND, "error.user_not_found", "user not found")
	}
	return nil
}

// UserSignedIn records a successful sign-in with the password whose hash
// is hash (the one before it becomes previous_sign_in_at) and returns its
// time, by the database's clock (which password_changed_at also uses).
// If the password changed since it was checked, nothing is recorded and
// the sign-in is refused (EUNAUTHORIZED), so no session outlives the
// password it was opened with.
func (s *Store) UserSignedIn(ctx context.Context, id int64, hash string) (time.Time, error) {
	var at time.Time
	err := s.db.QueryRow(ctx, `UPDATE users SET previous_sign_in_at = last_sign_in_at, last_sign_in_at = now()
		WHERE id = $1 AND password_hash = $2 RETURNING last_sign_in_at`, id, hash).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, tawasul.Errorf(tawasul.EUNAUTHORIZED, "signin.invalid", "the password changed during sign-in")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: user signed in: %w", err)
	}
	return at, nil
}

// DepartmentIDByCode returns the id of the department with code, or EINVALID.
func (s *Store) DepartmentIDByCode(ctx context.Context, code string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM departments WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, tawasul.Errorf(tawasul.EINVALID, "error.department_unknown", fmt.Sprintf("unknown department %q", code))
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: department by code: %w", err)
	}
	return id, nil
}
