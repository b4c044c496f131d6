package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/auth"
	"tawasul/internal/tawasul"
)

// The JSON API (/api/v1, docs/api.md) shares the route table, handlers'
// shape and error codes with the browser pages, but authenticates with
// bearer tokens instead of sessions and answers errors as
// {"error":{"code":"...","message":"..."}}.

// apiPrefix starts every API path. Any error on such a path, a 404 or a
// panic included, is answered in JSON.
const apiPrefix = "/api/"

// isAPI reports whether r is for the JSON API.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, apiPrefix) }

type apiTokenKey struct{}

// tokenOf returns the API token that authenticated r, or nil.
func tokenOf(r *http.Request) *tawasul.APIToken {
	t, _ := r.Context().Value(apiTokenKey{}).(*tawasul.APIToken)
	return t
}

// wwwAuthenticate is the challenge sent with every 401 of the API (RFC 6750).
const wwwAuthenticate = `Bearer realm="tawasul"`

var (
	errTokenMissing = tawasul.Errorf(tawasul.EUNAUTHORIZED, "api.token_missing",
		"send an API token: Authorization: Bearer tws_…")
	errTokenInvalid     = tawasul.Errorf(tawasul.EUNAUTHORIZED, "error.token_invalid", "invalid or revoked API token")
	errTokenRole        = tawasul.Errorf(tawasul.EFORBIDDEN, "api.role_forbidden", "this token's role does not allow this")
	errTokenRateLimited = tawasul.Errorf(tawasul.ERATELIMIT, "error.rate_limited",
		"too many requests with this token; wait for the time in Retry-After and try again")
	// API tokens carry a role but no department, so a department token
	// cannot be limited to its department's submissions: it is refused.
	errDepartmentToken = tawasul.Errorf(tawasul.EFORBIDDEN, "api.department_token",
		"department tokens carry no department, so they cannot be limited to one department's submissions; "+
			"use a token with the supervisor, agent or moderator role")
)

// keyByToken keys the API's rate limit by the token that requireToken
// found: each token has its own count, whoever uses it.
func keyByToken(r *http.Request) (string, error) {
	tok, ok := r.Context().Value(apiTokenKey{}).(*tawasul.APIToken)
	if !ok {
		return "", errors.New("api rate limit: no token in the request context")
	}
	return strconv.FormatInt(tok.ID, 10), nil
}

// bearerToken returns the token of an "Authorization: Bearer tws_…" header.
// ok is false when there is no Authorization header; a header that holds no
// well-formed token returns ok with an empty token.
func bearerToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(tok, auth.TokenPrefix) || len(tok) > 128 {
		return "", true
	}
	return tok, true
}

// requireToken lets through requests with a live API token (hashed with
// auth.HashToken, looked up with Store.APITokenByHash) whose role is one of
// roles, and puts the token in the request context. A missing, malformed,
// unknown or revoked token gets 401 with WWW-Authenticate: Bearer; another
// role gets 403.
func (s *Server) requireToken(roles []tawasul.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, present := bearerToken(r)
			if !present {
				w.Header().Set("WWW-Authenticate", wwwAuthenticate)
				s.apiError(w, r, errTokenMissing)
				return
			}
			if raw == "" {
				w.Header().Set("WWW-Authenticate", wwwAuthenticate+`, error="invalid_token"`)
				s.apiError(w, r, errTokenInvalid)
				return
			}
			tok, err := s.Store.APITokenByHash(r.Context(), auth.HashToken(raw))
			if err != nil {
				if tawasul.ErrorCode(err) == tawasul.EUNAUTHORIZED {
					w.Header().Set("WWW-Authenticate", wwwAuthenticate+`, error="invalid_token"`)
				}
				s.apiError(w, r, err)
				return
			}
			switch {
			case slices.Contains(roles, tok.Role):
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiTokenKey{}, tok)))
			case tok.Role == tawasul.RoleDepartment:
				s.apiError(w, r, errDepartmentToken)
			default:
				s.apiError(w, r, errTokenRole)
			}
		})
	}
}

// apiErrorBody is the JSON of every API error.
type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code    string `json:"code"`    // a tawasul error code: invalid, unauthorized, forbidden, not_found, …
	Message string `json:"message"` // English, for the developer reading it
}

// apiError answers with err as a JSON error. The status comes from the one
// map in errors.go; the message is the error's English text. Internal errors
// are logged (without the request's body or query) and shown without detail.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
	code := tawasul.ErrorCode(err)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		code, err = tawasul.ETOOLARGE, tawasul.Errorf(tawasul.ETOOLARGE, "error.too_large", "request body too large")
	}
	status := statusOf[code]
	msg := "internal error"
	var e *tawasul.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	if status >= 500 {
		s.Logger.Error("request failed", "request_id", middleware.GetReqID(r.Context()), "method", r.Method, "error", err)
		if code == tawasul.EINTERNAL {
			msg = "internal error; the request ID is in the X-Request-Id header"
		}
		w.Header().Set("X-Request-Id", middleware.GetReqID(r.Context()))
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	}
	s.writeJSON(w, r, status, apiErrorBody{Error: apiErrorDetail{Code: code, Message: msg}})
}

// writeJSON answers v as JSON. Responses may hold personal data, so they are
// never stored by caches.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.Logger.Error("json encode failed", "request_id", middleware.GetReqID(r.Context()), "error", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// apiList is one page of a list: {"data":[…],"next_cursor":"…"|null}.
type apiList[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// apiOne is a single resource: {"data":{…}}.
type apiOne[T any] struct {
	Data T `json:"data"`
}

// nullable returns nil for "" and &s otherwise, for JSON nulls.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
