package auth

import (
	"context"
	"strconv"
	"time"

	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
)

// Audit actions written by this package.
const (
	ActionSigninOK      = "signin.ok"
	ActionSigninFailed  = "signin.failed"
	ActionSigninBlocked = "signin.blocked"
	ActionSignout       = "signout"
)

// SignIn checks staff credentials.
type SignIn struct {
	Store     *postgres.Store
	Passwords *Passwords
	// Limit failed attempts per account within Window; past it the account
	// is refused (even with the right password) until the window moves on.
	Limit  int
	Window time.Duration
	Now    func() time.Time // nil = time.Now
}

// Check verifies email and password and records the attempt in the audit
// log with ip. It returns the user, or:
//   - ERATELIMIT when the account has had Limit failures within Window;
//   - EUNAUTHORIZED for an unknown e-mail, a wrong password or a disabled
//     account (one message for all three, so accounts cannot be probed).
func (s *SignIn) Check(ctx context.Context, email, password, ip string) (*tawasul.User, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	email, err := tawasul.NormalizeEmail(email)
	if err != nil {
		email = "" // still spend the time and record the attempt
	}
	failures, err := s.Store.AuditCount(ctx, ActionSigninFailed, email, now().Add(-s.Window))
	if err != nil {
		return nil, err
	}
	if failures >= s.Limit {
		_ = s.Store.AuditInsert(ctx, postgres.AuditEntry{Actor: "anonymous", Action: ActionSigninBlocked, Subject: email, IP: ip})
		return nil, tawasul.Errorf(tawasul.ERATELIMIT, "signin.too_many_attempts", "too many failed sign-ins for this account; try again later")
	}

	user, hash, err := s.Store.UserCredentials(ctx, email)
	if err != nil && tawasul.ErrorCode(err) != tawasul.ENOTFOUND {
		return nil, err
	}
	if user == nil {
		hash = s.Passwords.dummyHash()
	}
	ok, verr := s.Passwords.Verify(ctx, password, hash)
	if verr != nil && user != nil {
		return nil, verr
	}
	if user == nil || !ok || user.Disabled() {
		reason := "password"
		switch {
		case user == nil:
			reason = "unknown_account"
		case user.Disabled() && ok:
			reason = "disabled"
		}
		e := postgres.AuditEntry{Actor: "anonymous", Action: ActionSigninFailed, Subject: email, IP: ip,
			Detail: map[string]any{"reason": reason}}
		if user != nil {
			e.UserID = &user.ID
		}
		if err := s.Store.AuditInsert(ctx, e); err != nil {
			return nil, err
		}
		return nil, tawasul.Errorf(tawasul.EUNAUTHORIZED, "signin.invalid", "wrong e-mail or password")
	}
	at, err := s.Store.UserSignedIn(ctx, user.ID, hash)
	if err != nil {
		return nil, err
	}
	user.LastSignInAt = &at
	if err := s.Store.AuditInsert(ctx, postgres.AuditEntry{UserID: &user.ID, Actor: ActorUser(user.ID),
		Action: ActionSigninOK, Subject: email, IP: ip}); err != nil {
		return nil, err
	}
	return user, nil
}

// ActorUser is the audit-log actor for a staff user.
func ActorUser(id int64) string { return "user:" + strconv.FormatInt(id, 10) }
