package loadgen

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"tawasul/internal/phone"
	"tawasul/internal/sms"
)

const (
	testToken     = "loadgenTestToken42"
	testPublicURL = "https://tawasul.example.gov.sa"
)

// twilioCheck is a webhook endpoint that checks every request the way
// Tawasul must: the signature (with twilio-go's own validator, for the
// public URL, not the URL the request reached) and the parameters.
type twilioCheck struct {
	t      *testing.T
	failOn func(n int) int // status to answer for the n-th request (from 1), 0 = 200

	mu      sync.Mutex
	n       int
	sids    map[string]int
	senders map[string]int
	bodies  map[string]int
}

func newTwilioCheck(t *testing.T) (*twilioCheck, *httptest.Server) {
	c := &twilioCheck{t: t, sids: map[string]int{}, senders: map[string]int{}, bodies: map[string]int{}}
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return c, ts
}

var sidRE = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func (c *twilioCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != WebhookPath {
		c.t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, WebhookPath)
	}
	if err := r.ParseForm(); err != nil {
		c.t.Errorf("parse form: %v", err)
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) != 1 {
			c.t.Errorf("parameter %s has %d values", k, len(v))
		}
		params[k] = v[0]
	}
	v := client.NewRequestValidator(testToken)
	if !v.Validate(testPublicURL+WebhookPath, params, r.Header.Get("X-Twilio-Signature")) {
		c.t.Errorf("request %s: bad signature", params["MessageSid"])
	}
	in, err := sms.ParseInbound(r.PostForm)
	if err != nil {
		c.t.Errorf("sms.ParseInbound refuses %v: %v", params, err)
	} else if in.From != params["From"] {
		c.t.Errorf("From %q is not in E.164 (normalised: %q)", params["From"], in.From)
	}
	if !sidRE.MatchString(params["MessageSid"]) {
		c.t.Errorf("MessageSid %q is not a message SID", params["MessageSid"])
	}
	c.mu.Lock()
	c.n++
	n := c.n
	c.sids[params["MessageSid"]]++
	c.senders[params["From"]]++
	c.bodies[params["Body"]]++
	c.mu.Unlock()
	if c.failOn != nil {
		if status := c.failOn(n); status != 0 {
			w.WriteHeader(status)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(baselineTwiML))
}

func newGenerator(t *testing.T, url string, senders int) *Generator {
	t.Helper()
	g, err := New(Target{URL: url, PublicURL: testPublicURL, AuthToken: testToken}, senders)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// TestSignedAndUnique runs both modes for a fixed number of requests and
// checks that every request arrived signed, valid and with a MessageSid of
// its own.
func TestSignedAndUnique(t *testing.T) {
	t.Parallel()
	check, ts := newTwilioCheck(t)
	g := newGenerator(t, ts.URL, 50)

	loads := []Load{
		{Concurrency: 8, Requests: 300},
		// Open loop at a rate high enough that no request waits for its
		// due time: the test never depends on the clock.
		{Concurrency: 4, Rate: 1e9, Requests: 200},
	}
	for _, l := range loads {
		rep, err := g.Run(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Requests != l.Requests || rep.OK != l.Requests || len(rep.Errors) != 0 {
			t.Errorf("%s: %d requests, %d OK, errors %v; want %d OK", l.Mode(), rep.Requests, rep.OK, rep.Errors, l.Requests)
		}
		if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P95 || rep.Latency.P95 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
			t.Errorf("%s: percentiles out of order: %+v", l.Mode(), rep.Latency)
		}
	}

	const total = 500
	if check.n != total || len(check.sids) != total {
		t.Errorf("server saw %d requests with %d distinct MessageSids, want %d of each", check.n, len(check.sids), total)
	}
	for sid, n := range check.sids {
		if n > 1 {
			t.Errorf("MessageSid %s sent %d times", sid, n)
		}
	}
	pool := g.Senders()
	for from := range check.senders {
		if !slices.Contains(pool, from) {
			t.Errorf("From %s is not from the sender pool", from)
		}
	}
	if len(check.senders) < 2 || len(check.bodies) < 2 {
		t.Errorf("%d distinct senders and %d distinct bodies in %d requests: not drawn at random", len(check.senders), len(check.bodies), total)
	}
	for body := range check.bodies {
		if !slices.Contains(Bodies, body) {
			t.Errorf("unexpected body %q", body)
		}
	}
}

func TestErrorsCountedByStatus(t *testing.T) {
	t.Parallel()
	check, ts := newTwilioCheck(t)
	check.failOn = func(n int) int {
		switch {
		case n%10 == 0:
			return http.StatusServiceUnavailable
		case n%25 == 1:
			return http.StatusForbidden
		}
		return 0
	}
	g := newGenerator(t, ts.URL, 5)
	rep, err := g.Run(context.Background(), Load{Concurrency: 3, Requests: 100})
	if err != nil {
		t.Fatal(err)
	}
	// Of 1..100: multiples of 10 → 503 (10); 1, 26, 51, 76 → 403 (4).
	want := map[string]int{"503": 10, "403": 4}
	if rep.Requests != 100 || rep.OK != 86 || !maps.Equal(rep.Errors, want) {
		t.Errorf("requests %d, OK %d, errors %v; want 100, 86, %v", rep.Requests, rep.OK, rep.Errors, want)
	}
	if got := rep.ErrorSummary(); got != "403×4 503×10" {
		t.Errorf("ErrorSummary() = %q", got)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	_, ts := newTwilioCheck(t)
	url := ts.URL
	ts.Close() // nothing listens there any more
	g := newGenerator(t, url, 1)
	rep, err := g.Run(context.Background(), Load{Concurrency: 2, Requests: 6})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 0 || rep.Errors["transport"] != 6 || rep.Throughput() != 0 {
		t.Errorf("OK %d, errors %v, throughput %v; want 6 transport errors", rep.OK, rep.Errors, rep.Throughput())
	}
}

func TestRunRefusesBadLoads(t *testing.T) {
	t.Parallel()
	g := newGenerator(t, "http://127.0.0.1:1", 1)
	for _, l := range []Load{
		{Concurrency: 0, Requests: 1},
		{Concurrency: 1},
		{Concurrency: 1, Requests: 1, Rate: -1},
	} {
		if _, err := g.Run(context.Background(), l); err == nil {
			t.Errorf("Run(%+v) accepted", l)
		}
	}
	if _, err := New(Target{URL: "http://x"}, 1); err == nil {
		t.Error("New accepted a target without an auth token")
	}
	if _, err := New(Target{URL: "http://x", AuthToken: "t"}, 0); err == nil {
		t.Error("New accepted zero senders")
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	_, ts := newTwilioCheck(t)
	g := newGenerator(t, ts.URL, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Run(ctx, Load{Concurrency: 2, Rate: 1, Duration: time.Hour}); err == nil {
		t.Error("a cancelled run reported success")
	}
}

func TestSenderPool(t *testing.T) {
	t.Parallel()
	pool := senderPool(1000)
	if len(pool) != 1000 {
		t.Fatalf("%d senders, want 1000", len(pool))
	}
	re := regexp.MustCompile(`^\+9665[0-9]{8}$`)
	seen, prefixes := map[string]bool{}, map[string]bool{}
	for _, s := range pool {
		prefixes[s[:6]] = true
		if seen[s] {
			t.Errorf("%s appears twice", s)
		}
		seen[s] = true
		if e164, err := phone.Normalize(s); err != nil || e164 != s || !re.MatchString(s) || !phone.IsMobile(s) {
			t.Errorf("%s is not a Saudi mobile number in E.164", s)
		}
	}
	if len(prefixes) != len(mobilePrefixes) {
		t.Errorf("%d of the %d mobile prefixes drawn in 1000 numbers", len(prefixes), len(mobilePrefixes))
	}
}

func TestBodiesAreNotKeywords(t *testing.T) {
	t.Parallel()
	langs := map[string]int{}
	for _, b := range Bodies {
		if k := sms.ClassifyKeyword(b, ""); k != sms.NoKeyword {
			t.Errorf("body %q is a keyword (%v)", b, k)
		}
		langs[sms.DetectLanguage(b, "")]++
	}
	if len(Bodies) < 12 || langs["ar"] == 0 || langs["en"] == 0 {
		t.Errorf("%d bodies, languages %v: want a dozen, Arabic and English", len(Bodies), langs)
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var sample []time.Duration
	for i := 1; i <= 100; i++ {
		sample = append(sample, ms(i))
	}
	rand.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	tests := []struct {
		name   string
		sample []time.Duration
		want   Percentiles
	}{
		{"1..100 ms shuffled", sample, Percentiles{P50: ms(50), P95: ms(95), P99: ms(99), Max: ms(100)}},
		{"one value", []time.Duration{ms(7)}, Percentiles{ms(7), ms(7), ms(7), ms(7)}},
		// Nearest rank over 10 values: p50 is the 5th, p95 and p99 the 10th.
		{"ten values", []time.Duration{ms(10), ms(1), ms(9), ms(2), ms(8), ms(3), ms(7), ms(4), ms(6), ms(5)},
			Percentiles{P50: ms(5), P95: ms(10), P99: ms(10), Max: ms(10)}},
		// 1000 values, 990 at 1 ms and 10 at 1 s: p99 is the 990th.
		{"tail", append(slices.Repeat([]time.Duration{ms(1)}, 990), slices.Repeat([]time.Duration{time.Second}, 10)...),
			Percentiles{P50: ms(1), P95: ms(1), P99: ms(1), Max: time.Second}},
		{"empty", nil, Percentiles{}},
	}
	for _, tt := range tests {
		if got := Summarize(tt.sample); got != tt.want {
			t.Errorf("%s: Summarize = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := Percentile([]time.Duration{ms(1), ms(2), ms(3), ms(4)}, 75); got != ms(3) {
		t.Errorf("p75 of 1..4 ms = %v, want 3ms", got)
	}
}

func TestReportThroughputAndMode(t *testing.T) {
	t.Parallel()
	r := &Report{Requests: 1500, OK: 1200, Elapsed: 2 * time.Second}
	if got := r.Throughput(); got != 600 {
		t.Errorf("Throughput() = %v, want 600 (successes only)", got)
	}
	if got := (Load{Concurrency: 32}).Mode(); got != "max @ 32" {
		t.Errorf("closed-loop Mode() = %q", got)
	}
	if got := (Load{Concurrency: 32, Rate: 500}).Mode(); got != "500/s" {
		t.Errorf("open-loop Mode() = %q", got)
	}
}
