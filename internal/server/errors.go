package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"tawasul/internal/render"
	"tawasul/internal/tawasul"
)

// statusOf is the one map from error codes to HTTP statuses.
var statusOf = map[string]int{
	tawasul.EINVALID:      http.StatusBadRequest,
	tawasul.EUNAUTHORIZED: http.StatusUnauthorized,
	tawasul.EFORBIDDEN:    http.StatusForbidden,
	tawasul.ENOTFOUND:     http.StatusNotFound,
	tawasul.ECONFLICT:     http.StatusConflict,
	tawasul.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tawasul.ERATELIMIT:    http.StatusTooManyRequests,
	tawasul.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tawasul.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorPage is the data of the error page.
type ErrorPage struct {
	render.Base
	TitleKey, MessageKey string
	RequestID            string
}

// error answers with err: an error page in the request's language for
// browsers, plain text otherwise, JSON on /api/ paths. Internal errors are
// logged (without the request's body or query) and shown without detail.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.apiError(w, r, err)
		return
	}
	code := tawasul.ErrorCode(err)
	status := statusOf[code]
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		status, err = http.StatusRequestEntityTooLarge, tawasul.Errorf(tawasul.ETOOLARGE, "error.too_large", "request body too large")
	}
	reqID := middleware.GetReqID(r.Context())
	if status >= 500 {
		s.Logger.Error("request failed", "request_id", reqID, "method", r.Method, "error", err)
	}
	key := tawasul.ErrorKey(err)
	titleKey := "error.title"
	switch status {
	case http.StatusNotFound:
		titleKey = "error.not_found_title"
	case http.StatusForbidden:
		titleKey = "error.forbidden_title"
	case http.StatusInternalServerError:
		titleKey, key = "error.internal_title", "error.internal"
	}
	s.page(w, r, status, "error", &ErrorPage{TitleKey: titleKey, MessageKey: key, RequestID: reqID})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, tawasul.Errorf(tawasul.ENOTFOUND, "error.not_found", "not found"))
}

// methodNotAllowed answers 405 with the methods the path does accept in
// the Allow header.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath // what chi routes on, when set
	if path == "" {
		path = r.URL.Path
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if s.router.Match(chi.NewRouteContext(), m, path) || m == http.MethodHead && s.router.Match(chi.NewRouteContext(), http.MethodGet, path) {
			w.Header().Add("Allow", m)
		}
	}
	if isAPI(r) {
		s.writeJSON(w, r, http.StatusMethodNotAllowed, apiErrorBody{Error: apiErrorDetail{Code: "method_not_allowed",
			Message: "this address does not accept that method"}})
		return
	}
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write([]byte(s.langOf(r).T("error.method_not_allowed") + "\n"))
}

// page renders a full HTML page, filling in the Base.
func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, name string, data render.Page) {
	b := data.BasePtr()
	b.Lang = s.langOf(r)
	b.User = userOf(r)
	b.Simulator = s.Config.Twilio.Simulated()
	b.SwitchURL = switchURL(r, b.Lang.Other())
	if err := s.Render.Render(w, status, name, data); err != nil {
		s.Logger.Error("render failed", "page", name, "error", err)
		http.Error(w, b.Lang.T("error.internal"), http.StatusInternalServerError)
	}
}

// fragment renders the template name of page without the layout (a part of
// the page for htmx to swap in), filling in the Base like page.
func (s *Server) fragment(w http.ResponseWriter, r *http.Request, status int, page, name string, data render.Page) {
	b := data.BasePtr()
	b.Lang = s.langOf(r)
	b.User = userOf(r)
	b.Simulator = s.Config.Twilio.Simulated()
	if err := s.Render.Fragment(w, status, page, name, data); err != nil {
		s.Logger.Error("render failed", "page", page, "fragment", name, "error", err)
		http.Error(w, b.Lang.T("error.internal"), http.StatusInternalServerError)
	}
}

// switchURL is the current page in the other language, keeping its query.
func switchURL(r *http.Request, lang string) string {
	q := r.URL.Query()
	q.Set("lang", lang)
	path := r.URL.Path
	if r.Method != http.MethodGet {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		path = "/"
	}
	return path + "?" + q.Encode()
}
