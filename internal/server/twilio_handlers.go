package server

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/twilio/twilio-go/client"
	"github.com/twilio/twilio-go/twiml"

	"tawasul/internal/sms"
)

// maxTwilioBody is the largest webhook body accepted (Twilio's are a few KiB).
const maxTwilioBody = 64 << 10

// webhookStoreTimeout bounds storing an inbound message.
const webhookStoreTimeout = 5 * time.Second

// requireTwilioSignature refuses, with 403 and before anything is parsed or
// stored, any request whose X-Twilio-Signature does not match the URL Twilio
// called — TAWASUL_PUBLIC_URL plus the raw request URI, never the Host
// header — and the form body. Bodies over 64 KiB get 413.
func (s *Server) requireTwilioSignature(next http.Handler) http.Handler {
	v := client.NewRequestValidator(s.Config.Twilio.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get("X-Twilio-Signature")
		if sig == "" || s.Config.Twilio.AuthToken == "" {
			msg := "twilio webhook refused: no signature"
			if s.Config.Twilio.AuthToken == "" {
				msg = "twilio webhook refused: TWILIO_AUTH_TOKEN is not set, so no signature can be checked"
			}
			s.unsignedWarn.warn(s.Logger, msg, "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()))
			http.Error(w, "missing or unusable signature", http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTwilioBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if !validTwilioSignature(&v, s.Config.PublicURL+r.URL.RequestURI(), r, body, sig) {
			// The usual cause when every webhook is refused: the URL set
			// at Twilio is not TAWASUL_PUBLIC_URL + path, or the token is
			// another account's. Only the path is logged: the query and
			// body may hold personal data.
			s.badSignatureWarn.warn(s.Logger, "twilio webhook refused: invalid signature; check that Twilio is configured with "+
				"TAWASUL_PUBLIC_URL + this path and that TWILIO_AUTH_TOKEN is the account's",
				"signed_for", s.Config.PublicURL+r.URL.Path, "request_id", middleware.GetReqID(r.Context()))
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// validTwilioSignature reports whether sig signs the request to url with
// body, as RequestValidator.ValidateBody decides (a body that is not a
// form fails). A form body is parsed once, here: when the request says it
// is a form, it becomes r.PostForm, so the handler's ParseForm does not
// parse it again (any other Content-Type is left to ParseForm to refuse).
func validTwilioSignature(v *client.RequestValidator, url string, r *http.Request, body []byte, sig string) bool {
	if r.URL.Query().Has("bodySHA256") {
		return v.ValidateBody(url, body, sig)
	}
	form, err := neturl.ParseQuery(string(body))
	if err != nil {
		return false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		params[k] = vs[0] // as ValidateBody does
	}
	if !v.Validate(url, params, sig) {
		return false
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && ct == "application/x-www-form-urlencoded" {
		r.PostForm = form
	}
	return true
}

// handleTwilioSMS takes in an SMS or WhatsApp message: stores it and acts on
// it in one transaction, then answers TwiML with the reply (the same reply
// for a replayed MessageSid). If it cannot be stored it answers 503, so
// Twilio's fallback URL takes over; never 200 for something not stored.
func (s *Server) handleTwilioSMS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	in, err := sms.ParseInbound(r.PostForm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Twilio waits 15 s; answer 503 well before, so its fallback URL can
	// still take the message when the database is slow or unreachable.
	ctx, cancel := context.WithTimeout(r.Context(), webhookStoreTimeout)
	defer cancel()
	res, err := s.Conversation.HandleInbound(ctx, in)
	if err != nil {
		s.Logger.Error("inbound message not stored", "error", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	var verbs []twiml.Element
	if res.Reply != "" {
		verbs = append(verbs, &twiml.MessagingMessage{Body: res.Reply})
	}
	xml, err := twiml.Messages(verbs)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, xml)
}

// handleTwilioSMSStatus applies a delivery status callback. A status only
// moves forward (queued → sent → delivered; failed and undelivered are
// final), so late, repeated and out-of-order callbacks change nothing. A
// callback that beats CreateMessage's answer (the SID is not stored yet) is
// held and applied when it is. ErrorCode 21610 opts the recipient out.
func (s *Server) handleTwilioSMSStatus(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	cb, err := sms.ParseStatusCallback(r.PostForm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.Store.MessageStatusCallback(r.Context(), cb.MessageSID, cb.Status, cb.ErrorCode); err != nil {
		s.Logger.Error("status callback not stored", "error", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
