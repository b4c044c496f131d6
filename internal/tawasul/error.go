package tawasul

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the server package.
const (
	EINVALID      = "invalid"      // bad input: 400
	EUNAUTHORIZED = "unauthorized" // not signed in / bad credentials: 401
	EFORBIDDEN    = "forbidden"    // signed in but not allowed: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409
	ETOOLARGE     = "too_large"    // 413
	ERATELIMIT    = "rate_limited" // 429
	EUNAVAILABLE  = "unavailable"  // a dependency is down: 503
	EINTERNAL     = "internal"     // everything else: 500
)

// Error is an error meant for a user. Key is a translation-catalog key, so
// the message is shown in the reader's language; Message is the English text
// for logs, the CLI and the JSON API.
type Error struct {
	Code    string
	Key     string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code, catalog key and English message.
func Errorf(code, key, message string) *Error {
	return &Error{Code: code, Key: key, Message: message}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorKey returns the catalog key of the first *Error in err's chain, or
// "error.internal" for any other error.
func ErrorKey(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Key != "" {
		return e.Key
	}
	return "error.internal"
}
