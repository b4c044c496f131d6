// Package loadgen generates load on Tawasul's inbound-SMS webhook
// (POST /twilio/sms) and measures throughput and latency. It is the engine
// of `tawasul loadgen sms` and `make bench-sms`.
//
// The contract of a Generator:
//
//   - Every request is what Twilio sends for an incoming SMS: a
//     form-encoded POST to Target.URL+"/twilio/sms" carrying an
//     X-Twilio-Signature computed with Target.AuthToken for
//     Target.PublicURL+"/twilio/sms" (twiliofake.Sign), so a correct
//     server accepts every one of them.
//   - Every request has a new MessageSid (twiliofake.NewSID("SM")): none is
//     a replay. From is drawn uniformly from a pool of distinct Saudi mobile
//     numbers (+9665XXXXXXXX, each valid by internal/phone), fixed for the
//     Generator's life; Body is one of a dozen Arabic and English reports.
//     None of the bodies is a keyword (STOP, HELP …).
//   - Closed loop (Load.Rate == 0, "max"): Load.Concurrency workers each
//     send their next request as soon as the previous one is answered.
//     Latency runs from sending the request to reading the whole answer.
//   - Open loop (Load.Rate > 0): request i is due at start + i/Rate, and its
//     latency runs from that due time, not from when it was actually sent.
//     A server that stalls is thus charged for the requests it held back
//     (no coordinated omission). At most Load.Concurrency requests are in
//     flight; a request that finds them all busy waits, and the wait counts.
//   - A run sends no new request once Load.Duration has passed, or once
//     Load.Requests requests have been sent if that is set, and always waits
//     for the requests in flight.
//   - A 2xx answer is a success; any other status, or a transport error, is
//     counted in Report.Errors by status. Throughput counts successes only;
//     latency percentiles cover every answered request.
//
// Numbers from one machine mean little on their own, so results are meant
// to be read beside a Baseline measured in the same run, never asserted on
// in tests.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tawasul/internal/twiliofake"
)

// WebhookPath is the path of the inbound-SMS webhook, appended to
// Target.URL and Target.PublicURL.
const WebhookPath = "/twilio/sms"

// MaxSenders is the largest pool of From numbers New accepts.
const MaxSenders = 1_000_000

// Target says where webhooks go and how they are signed.
type Target struct {
	// URL is the base URL requests are sent to, e.g. http://127.0.0.1:8080.
	URL string
	// PublicURL is the base URL signatures are computed for: the server's
	// TAWASUL_PUBLIC_URL. Empty means URL.
	PublicURL string
	// AuthToken is the Twilio auth token the server verifies with.
	AuthToken string
}

// Load is one measured run.
type Load struct {
	// Concurrency is the number of workers, and so the most requests in
	// flight at once (at least 1).
	Concurrency int
	// Rate, when positive, makes the run open-loop at Rate requests per
	// second; zero means closed-loop as fast as the server answers.
	Rate float64
	// Duration ends the run: no request is sent after it. Zero means no
	// limit (then Requests must be set).
	Duration time.Duration
	// Requests, when positive, ends the run after that many requests.
	Requests int
}

// Percentiles summarises a latency sample.
type Percentiles struct {
	P50, P95, P99, Max time.Duration
}

// Report is the outcome of a run.
type Report struct {
	Load     Load
	Requests int            // answered requests, errors included
	OK       int            // 2xx answers
	Errors   map[string]int // by status code ("503"), or "transport"
	Elapsed  time.Duration  // from the start to the last answer
	Latency  Percentiles    // over every answered request
}

// Throughput returns successful requests per second.
func (r *Report) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ErrorCount returns the number of failed requests.
func (r *Report) ErrorCount() int { return r.Requests - r.OK }

// ErrorSummary lists the errors by status, e.g. "503×12 transport×1", or
// returns "0".
func (r *Report) ErrorSummary() string {
	if len(r.Errors) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, r.Errors[k])
	}
	return strings.Join(parts, " ")
}

// Mode describes the load: "max @ 32" (closed loop at concurrency 32) or
// "500/s" (open loop).
func (l Load) Mode() string {
	if l.Rate > 0 {
		return strconv.FormatFloat(l.Rate, 'f', -1, 64) + "/s"
	}
	return "max @ " + strconv.Itoa(l.Concurrency)
}

// Generator sends signed inbound-SMS webhooks to one target. It is safe for
// one Run at a time; reuse it across runs so connections and the sender
// pool carry over.
type Generator struct {
	target  Target
	sendURL string
	signURL string
	client  *http.Client
	msgs    *messages
}

// New returns a Generator for t whose From numbers come from a pool of
// senders distinct Saudi mobile numbers (at least 1).
func New(t Target, senders int) (*Generator, error) {
	if t.URL == "" || t.AuthToken == "" {
		return nil, errors.New("loadgen: the target needs a URL and an auth token")
	}
	if _, err := url.Parse(t.URL); err != nil {
		return nil, fmt.Errorf("loadgen: target URL: %w", err)
	}
	if t.PublicURL == "" {
		t.PublicURL = t.URL
	}
	if senders < 1 || senders > MaxSenders {
		return nil, fmt.Errorf("loadgen: senders must be between 1 and %d", MaxSenders)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // measure the server, not a proxy
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = 4096 // keep one connection per worker alive
	tr.DisableCompression = true
	return &Generator{
		target:  t,
		sendURL: strings.TrimRight(t.URL, "/") + WebhookPath,
		signURL: strings.TrimRight(t.PublicURL, "/") + WebhookPath,
		client:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
		msgs:    newMessages(senders),
	}, nil
}

// Close closes the Generator's idle connections.
func (g *Generator) Close() { g.client.CloseIdleConnections() }

// Senders returns the pool of From numbers.
func (g *Generator) Senders() []string { return slices.Clone(g.msgs.senders) }

// Run applies l to the target and reports what it measured. It returns an
// error only for an unusable Load or when ctx ends first; failed requests
// are counted in the Report.
func (g *Generator) Run(ctx context.Context, l Load) (*Report, error) {
	if l.Concurrency < 1 {
		return nil, errors.New("loadgen: concurrency must be at least 1")
	}
	if l.Duration <= 0 && l.Requests <= 0 {
		return nil, errors.New("loadgen: a run needs a duration or a number of requests")
	}
	if l.Rate < 0 || math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
		return nil, errors.New("loadgen: rate must be a positive number, or 0 for closed loop")
	}

	type tally struct {
		samples []time.Duration
		errors  map[string]int
	}
	tallies := make([]tally, l.Concurrency)
	var next atomic.Int64
	var lastDone atomic.Int64 // nanoseconds since start of the last answer
	start := time.Now()
	deadline := start.Add(l.Duration)

	var wg sync.WaitGroup
	for w := range l.Concurrency {
		wg.Go(func() {
			t := &tallies[w]
			t.errors = map[string]int{}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if l.Requests > 0 && i >= int64(l.Requests) {
					return
				}
				req, err := g.newRequest(ctx)
				if err != nil {
					return // only when ctx is done
				}
				var due time.Time
				if l.Rate > 0 {
					due = start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
					if l.Duration > 0 && !due.Before(deadline) {
						return
					}
					if !waitUntil(ctx, due) {
						return
					}
				} else {
					due = time.Now()
					if l.Duration > 0 && !due.Before(deadline) {
						return
					}
				}
				status := g.send(req)
				done := time.Now()
				if ctx.Err() != nil {
					return
				}
				t.samples = append(t.samples, done.Sub(due))
				if status < 200 || status > 299 {
					key := "transport"
					if status != 0 {
						key = strconv.Itoa(status)
					}
					t.errors[key]++
				}
				storeMax(&lastDone, int64(done.Sub(start)))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	rep := &Report{Load: l, Errors: map[string]int{}, Elapsed: time.Duration(lastDone.Load())}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.samples...)
		for k, n := range t.errors {
			rep.Errors[k] += n
		}
	}
	rep.Requests = len(all)
	rep.OK = rep.Requests
	for _, n := range rep.Errors {
		rep.OK -= n
	}
	rep.Latency = Summarize(all)
	return rep, nil
}

// newRequest builds the next signed webhook request.
func (g *Generator) newRequest(ctx context.Context) (*http.Request, error) {
	params := g.msgs.next()
	body := params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.sendURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(g.target.AuthToken, g.signURL, params))
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (tawasul loadgen)")
	return req, nil
}

// send sends req, reads the whole answer and returns its status, or 0 on a
// transport error.
func (g *Generator) send(req *http.Request) int {
	res, err := g.client.Do(req)
	if err != nil {
		return 0
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return 0
	}
	return res.StatusCode
}

// waitUntil waits until t or until ctx is done, and reports which came
// first (true: t).
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// storeMax sets a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// Summarize returns the nearest-rank percentiles of samples, which it sorts
// in place. An empty sample gives zeros.
func Summarize(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	slices.Sort(samples)
	return Percentiles{
		P50: Percentile(samples, 50),
		P95: Percentile(samples, 95),
		P99: Percentile(samples, 99),
		Max: samples[len(samples)-1],
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted: the smallest value that at least p% of the sample does not
// exceed. sorted must be sorted ascending and not empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
