package twiliofake

import (
	"context"
	"net/http"
)

// Fault makes the fake fail create requests (messages and calls) addressed
// to one "To" value. See SetFault.
type Fault struct {
	// Status is the HTTP status to answer, e.g. 400, 429, 500, 502. Zero
	// means 500.
	Status int

	// Code is the Twilio error code put in the JSON error body, e.g. 21610
	// (unsubscribed recipient), 21211 (invalid To), 21614 (not a mobile
	// number), 20429 (too many requests), 20003 (authenticate). twilio-go
	// turns such a body into *client.TwilioRestError. Code 0 with a 5xx
	// Status answers the HTML body "<html>bad gateway</html>" instead, as a
	// proxy in front of Twilio would; twilio-go then returns a plain error.
	Code int

	// Message is the error message; empty means Twilio's usual text for Code
	// (or the HTTP status text).
	Message string

	// Times is how many matching requests the fault applies to; after that it
	// is removed. Zero (or negative) means forever.
	Times int

	// Hang makes the fake answer nothing until the request's context ends
	// (the client gave up) or the server is closed, simulating a timeout.
	// Status and Code are then irrelevant unless the server closes first, in
	// which case it answers 503.
	Hang bool

	// AcceptThenFail stores the message (or call) as accepted — it appears in
	// Messages(), in the List endpoint and gets callbacks — and then answers
	// with the fault anyway (Status/Code, or Hang). It simulates "Twilio
	// accepted it but we saw a 5xx or a timeout", the cause of duplicate
	// sends. Validation errors still win over the fault.
	AcceptThenFail bool
}

type faultState struct {
	f         Fault
	remaining int
}

// SetFault installs f for requests whose To parameter equals to exactly
// (E.164 such as "+966501234567", or "whatsapp:+966501234567"), replacing
// any fault already set for to. Faults apply to message and call creation
// only; GET requests are never faulted. Faults are checked after
// authentication and before validation (except AcceptThenFail, see Fault).
func (s *Server) SetFault(to string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[to] = &faultState{f: f, remaining: f.Times}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault for to, consuming one use.
func (s *Server) takeFault(to string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.faults[to]
	if !ok {
		return Fault{}, false
	}
	if fs.f.Times > 0 {
		fs.remaining--
		if fs.remaining <= 0 {
			delete(s.faults, to)
		}
	}
	return fs.f, true
}

// answerFault writes f's response (or hangs).
func (s *Server) answerFault(w http.ResponseWriter, r *http.Request, f Fault, to, from string) {
	s.log.Info("twiliofake: injecting fault", "to", to, "status", f.Status, "code", f.Code, "hang", f.Hang)
	if f.Hang {
		if s.hang(r) {
			writeTwilioError(w, http.StatusServiceUnavailable, 20503, "Service unavailable: twiliofake is shutting down")
		}
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.Code == 0 && status >= 500 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
		return
	}
	msg := f.Message
	if msg == "" {
		msg = errorMessage(f.Code, to, from)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeTwilioError(w, status, f.Code, msg)
}

// hang blocks until the client goes away or the server shuts down; it
// reports whether it was released by the shutdown (the client still waits).
func (s *Server) hang(r *http.Request) (byShutdown bool) {
	s.mu.Lock()
	s.hanging++
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.hanging--
		s.notifyLocked()
		s.mu.Unlock()
	}()
	select {
	case <-r.Context().Done():
		return false
	case <-s.done:
		return true
	}
}

// errorMessage returns Twilio's usual message for a few codes, or "".
func errorMessage(code int, to, from string) string {
	switch code {
	case 20003:
		return "Authenticate"
	case 20429:
		return "Too Many Requests"
	case 21211:
		return "Invalid 'To' Phone Number: " + to
	case 21408:
		return "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: " + to + "."
	case 21606:
		return "The 'From' phone number provided (" + from + ") is not a valid message-capable Twilio phone number for this destination."
	case 21610:
		return "Attempt to send to unsubscribed recipient"
	case 21612:
		return "The 'To' phone number: " + to + ", is not currently reachable using the 'From' phone number: " + from + " via SMS."
	case 21614:
		return "'To' number is not a valid mobile number"
	case 30001:
		return "Queue overflow"
	case 30003:
		return "Unreachable destination handset"
	case 30005:
		return "Unknown destination handset"
	case 30006:
		return "Landline or unreachable carrier"
	case 30007:
		return "Message filtered"
	case 30008:
		return "Unknown error"
	}
	return ""
}

// WaitHanging blocks until at least n requests are being held by Hang
// faults, or ctx ends. Tests use it to give up on a request (as a client
// timeout would) exactly while the fake holds it.
func (s *Server) WaitHanging(ctx context.Context, n int) error {
	return s.waitUntil(ctx, func() bool { return s.hanging >= n })
}
