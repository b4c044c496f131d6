package tawasul

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// User is a staff member who signs in to the web interface.
type User struct {
	ID                 int64
	Email              string // lower-case
	Name               string
	Roles              []Role
	DepartmentID       *int64 // set when Roles contains RoleDepartment
	DepartmentCode     string // the department's code, when DepartmentID is set
	DepartmentName     Names  // the department's name, when DepartmentID is set
	MustChangePassword bool
	DisabledAt         *time.Time
	CreatedAt          time.Time
	LastSignInAt       *time.Time // the latest sign-in (for a signed-in user, usually their own)
	PreviousSignInAt   *time.Time // the sign-in before the latest, which staff are shown
	PasswordChangedAt  *time.Time // nil when set before it was recorded; sessions signed in before it are ended
}

// HasAnyRole reports whether the user has at least one of roles.
func (u *User) HasAnyRole(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(u.Roles, r) {
			return true
		}
	}
	return false
}

// SeesPersonalData reports whether any of the user's roles may see
// residents' personal data.
func (u *User) SeesPersonalData() bool {
	return slices.ContainsFunc(u.Roles, Role.SeesPersonalData)
}

// Disabled reports whether the account has been disabled.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// NormalizeEmail trims and lower-cases an e-mail address and checks its form.
// It returns an EINVALID error for anything that is not a bare address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", Errorf(EINVALID, "error.email_invalid", "invalid e-mail address")
	}
	return s, nil
}

// MinPasswordLength is the shortest password a staff account may have.
const MinPasswordLength = 10

// ValidatePassword returns an EINVALID error when pw is too short or too long.
func ValidatePassword(pw string) error {
	n := len([]rune(pw))
	if n < MinPasswordLength {
		return Errorf(EINVALID, "error.password_too_short", "password must have at least 10 characters")
	}
	if len(pw) > 256 {
		return Errorf(EINVALID, "error.password_too_long", "password must have at most 256 bytes")
	}
	return nil
}

// APIToken is a bearer token for the JSON API. Only its hash is stored.
type APIToken struct {
	ID         int64
	Name       string
	Role       Role
	Prefix     string // the first characters of the token, to recognise it in lists
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}
