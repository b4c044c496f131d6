package twiliofake

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// APIVersion is the Twilio REST API version the fake implements. Routes are
// matched on the path segment "/2010-04-01/".
const APIVersion = "2010-04-01"

// Errors returned by the Server's methods.
var (
	// ErrClosed is returned by Start after Close or Shutdown.
	ErrClosed = errors.New("twiliofake: server closed")
	// ErrUnknownMessage is returned by Deliver for a SID the fake never issued.
	ErrUnknownMessage = errors.New("twiliofake: unknown message SID")
	// ErrNoStatusCallback is returned by Deliver when the message was created
	// without a StatusCallback URL. The status change is still recorded.
	ErrNoStatusCallback = errors.New("twiliofake: message has no StatusCallback")
)

// Options configures a Server. The zero value of every optional field is
// usable.
type Options struct {
	// AccountSID is the account the fake serves: "AC" followed by 32 hex
	// digits. Required. Requests for any other account get 404 (code 20404).
	AccountSID string

	// AuthToken is the account's auth token. Required; must be alphanumeric
	// (twilio-go refuses other credentials before sending). REST requests
	// must present HTTP Basic credentials AccountSID:AuthToken (or a pair from
	// APIKeys); callbacks and webhooks sent by the fake are signed with it.
	AuthToken string

	// APIKeys optionally lists API key credentials ("SK…" SID → secret) that
	// are accepted for HTTP Basic auth in addition to AccountSID:AuthToken.
	// As at Twilio, API keys never sign webhooks.
	APIKeys map[string]string

	// AutoCallbacks selects simulator behaviour. When true, every accepted
	// message is advanced through queued → sent → delivered in the
	// background, after its create response has been written; each step
	// updates the stored message and, if the message has a StatusCallback,
	// POSTs a signed status callback and waits for the answer before the
	// next step, so callbacks for one message arrive in order. When false
	// (tests), nothing happens until the test calls Deliver.
	AutoCallbacks bool

	// HTTPClient sends callbacks and webhooks. Nil means a client with a 10 s
	// timeout that does not follow redirects (Twilio does not follow
	// redirects on POST callbacks).
	HTTPClient *http.Client

	// Logger receives diagnostic logs. Nil discards them.
	Logger *slog.Logger

	// Now is the clock used for timestamps. Nil means time.Now. Times are
	// stored in UTC.
	Now func() time.Time
}

// Server is the fake Twilio API. Create it with New, then either mount it
// (it is an http.Handler) or Start it on a loopback port. Release it with
// Close or Shutdown. All methods are safe for concurrent use.
type Server struct {
	accountSID string
	authToken  string
	apiKeys    map[string]string
	auto       bool
	client     *http.Client
	log        *slog.Logger
	now        func() time.Time

	mu        sync.Mutex
	messages  []*Message
	msgIndex  map[string]*Message
	calls     []*Call
	callIndex map[string]*Call
	faults    map[string]*faultState
	media     map[string]mediaFile // by "ME…" SID (AddMedia)
	hanging   int                  // requests currently held by a Hang fault
	changed   chan struct{}        // closed and replaced on every state change
	closed    bool
	httpSrv   *http.Server
	baseURL   string

	done     chan struct{} // closed when shutdown begins; releases Hang faults
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // background callback sequences
}

var (
	alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// New returns a Server for opts. It panics if opts.AccountSID is not "AC"
// followed by 32 hex digits or if opts.AuthToken is empty or not
// alphanumeric: these are programming errors, and a fake that cannot
// authenticate anyone would only produce confusing failures later.
func New(opts Options) *Server {
	if !isSID(opts.AccountSID, "AC") {
		panic(fmt.Sprintf("twiliofake: Options.AccountSID %q is not AC followed by 32 hex digits", opts.AccountSID))
	}
	if !alphanumeric.MatchString(opts.AuthToken) {
		panic("twiliofake: Options.AuthToken must be a non-empty alphanumeric string")
	}
	s := &Server{
		accountSID: opts.AccountSID,
		authToken:  opts.AuthToken,
		apiKeys:    make(map[string]string, len(opts.APIKeys)),
		auto:       opts.AutoCallbacks,
		client:     opts.HTTPClient,
		log:        opts.Logger,
		now:        opts.Now,
		msgIndex:   make(map[string]*Message),
		callIndex:  make(map[string]*Call),
		faults:     make(map[string]*faultState),
		changed:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	for k, v := range opts.APIKeys {
		s.apiKeys[k] = v
	}
	if s.client == nil {
		s.client = &http.Client{
			Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	return s
}

// AccountSID returns the account SID the fake serves.
func (s *Server) AccountSID() string { return s.accountSID }

// Start serves the fake on a new listener at 127.0.0.1 with a kernel-chosen
// port and returns its base URL, "http://127.0.0.1:PORT" (no trailing
// slash). Point twilio-go's transport at it. Start may be called once; it
// returns ErrClosed after Close.
func (s *Server) Start() (baseURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.httpSrv != nil {
		return "", errors.New("twiliofake: server already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("twiliofake: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.httpSrv = srv
	s.baseURL = "http://" + ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("twiliofake: serve failed", "err", err)
		}
	}()
	s.log.Info("twiliofake: listening", "url", s.baseURL)
	return s.baseURL, nil
}

// URL returns the base URL returned by Start, or "" if the server was not
// started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close is Shutdown without a deadline: it stops the listener (if Start was
// called), releases requests held by Hang faults, stops scheduling automatic
// callbacks, and waits for callbacks already in flight to finish (each is
// bounded by the HTTP client's timeout). Close is idempotent. ServeHTTP keeps
// answering API requests after Close if the handler is still mounted.
func (s *Server) Close() error {
	return s.Shutdown(context.Background())
}

// Shutdown is like Close, but if ctx ends before in-flight callbacks finish,
// it cancels them, waits for their goroutines to exit and returns ctx's
// error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		s.notifyLocked()
	}
	srv := s.httpSrv
	s.httpSrv = nil // shut the listener down once
	s.mu.Unlock()

	var err error
	if srv != nil {
		if e := srv.Shutdown(ctx); e != nil {
			_ = srv.Close()
			err = e
		}
	}

	bgDone := make(chan struct{})
	go func() {
		s.bg.Wait()
		close(bgDone)
	}()
	select {
	case <-bgDone:
	case <-ctx.Done():
		s.bgCancel()
		<-bgDone
		if err == nil {
			err = ctx.Err()
		}
	}
	s.bgCancel()
	return err
}

// goBackground runs fn in a goroutine tracked by Close, unless the server is
// closed, in which case fn is not run and false is returned.
func (s *Server) goBackground(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn()
	}()
	return true
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil blocks until cond, evaluated with s.mu held after every state
// change, returns true, or until ctx ends.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// timestamp returns the current time in UTC.
func (s *Server) timestamp() time.Time { return s.now().UTC() }

// ServeHTTP serves the fake's REST routes. It can be mounted at any prefix:
// routes are matched on the part of the path that starts with
// "/2010-04-01/", so "/2010-04-01/Accounts/AC…/Messages.json" and
// "/sim/twilio/2010-04-01/Accounts/AC…/Messages.json" are the same route.
//
// Every request must carry HTTP Basic credentials AccountSID:AuthToken (or
// an APIKeys pair), else 401 with code 20003; the account in the path must
// be the fake's account, else 404 with code 20404. Routes:
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json       create a message (201)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json       list messages (200)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json fetch a message (200)
//	POST /2010-04-01/Accounts/{AccountSid}/Calls.json          create a call (201)
//	GET  /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json    fetch a call (200)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}/Media/{MediaSid}
//	                                                           an attachment (307 to the file; AddMedia)
//
// Unknown paths get 404 (20404); known paths with another method get 405
// (20004).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, mediaFilesPath) {
		s.serveMediaFile(w, r)
		return
	}
	marker := "/" + APIVersion + "/"
	i := strings.Index(r.URL.Path, marker)
	if i < 0 {
		s.writeNotFound(w, r.URL.Path)
		return
	}
	apiPath := r.URL.Path[i:] // "/2010-04-01/..."
	s.log.Debug("twiliofake: request", "method", r.Method, "path", apiPath)

	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeTwilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}

	segs := strings.Split(strings.TrimPrefix(apiPath, marker), "/")
	if len(segs) < 3 || segs[0] != "Accounts" || segs[1] != s.accountSID {
		s.writeNotFound(w, apiPath)
		return
	}
	switch {
	case len(segs) == 3 && segs[2] == "Messages.json":
		switch r.Method {
		case http.MethodPost:
			s.createMessage(w, r)
		case http.MethodGet:
			s.listMessages(w, r, apiPath)
		default:
			writeMethodNotAllowed(w, "GET, POST")
		}
	case len(segs) == 4 && segs[2] == "Messages" && strings.HasSuffix(segs[3], ".json"):
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, "GET")
			return
		}
		s.fetchMessage(w, strings.TrimSuffix(segs[3], ".json"), apiPath)
	case len(segs) == 6 && segs[2] == "Messages" && segs[4] == "Media":
		s.redirectMedia(w, r, segs[5], apiPath)
	case len(segs) == 3 && segs[2] == "Calls.json":
		if r.Method != http.MethodPost {
			writeMethodNotAllowed(w, "POST")
			return
		}
		s.createCall(w, r)
	case len(segs) == 4 && segs[2] == "Calls" && strings.HasSuffix(segs[3], ".json"):
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, "GET")
			return
		}
		s.fetchCall(w, strings.TrimSuffix(segs[3], ".json"), apiPath)
	default:
		s.writeNotFound(w, apiPath)
	}
}

// authorized checks HTTP Basic credentials in constant time.
func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if user == s.accountSID {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(s.authToken)) == 1
	}
	if secret, found := s.apiKeys[user]; found {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(secret)) == 1
	}
	return false
}

func (s *Server) writeNotFound(w http.ResponseWriter, path string) {
	writeTwilioError(w, http.StatusNotFound, 20404, "The requested resource "+path+" was not found")
}

func writeMethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeTwilioError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
}

// twilioError is Twilio's legacy REST error body, decoded by twilio-go into
// *client.TwilioRestError.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeTwilioError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, twilioError{
		Code:     code,
		Message:  message,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		Status:   status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// maxFormBytes bounds request bodies; Twilio's own limits are far lower.
const maxFormBytes = 1 << 20

// parsePostForm parses an application/x-www-form-urlencoded body. On failure
// it answers 400 and returns false.
func parsePostForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeTwilioError(w, http.StatusBadRequest, 20001, "Invalid request body: "+err.Error())
		return false
	}
	return true
}
