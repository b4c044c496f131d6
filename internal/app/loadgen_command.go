package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tawasul/internal/config"
	"tawasul/internal/devpg"
	"tawasul/internal/loadgen"
	"tawasul/internal/twiliofake"
)

// The targets for the inbound-SMS webhook on a 2-core machine.
const (
	targetThroughput    = 1000.0                // webhooks/s sustained, closed loop
	targetBaselineRatio = 0.5                   // of the baseline's closed-loop rate
	targetP99           = 50 * time.Millisecond // p99 in the open-loop phase
	targetP99Rate       = 500.0                 // … at this rate
)

// loadgenOpts are the flags of `tawasul loadgen sms`.
type loadgenOpts struct {
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	rate        float64
	requests    int
	senders     int
	dbConns     int
	url         string
	publicURL   string
	authToken   string
	databaseURL string
	outbound    int
}

func runLoadgen(ctx context.Context, e *Env, args []string) error {
	const summary = `Sends signed inbound-SMS webhooks (POST /twilio/sms) to Tawasul and reports
throughput and p50/p95/p99 latency beside a baseline measured in the same run:
a minimal handler that only parses the form and inserts one row with pgx, on
the same database.

Each target (baseline, then tawasul) gets two measured phases, each after a
warm-up: closed loop at --concurrency for --duration ("max @ C"), then open
loop at --rate requests/s for --duration, with latency counted from each
request's due time. From numbers come from --senders distinct Saudi mobiles.

Without --url it is self-contained: it starts a private PostgreSQL in a new
temporary directory, runs this binary's serve on a free port of 127.0.0.1
against it, and stops and removes both at the end, also on Ctrl-C. With --url
it loads a running instance; the baseline then uses --database-url (the
instance's database) and is skipped without it. make bench-sms runs it.`
	fs := flagSet(e, "loadgen sms [flags]", summary)
	var o loadgenOpts
	fs.IntVar(&o.concurrency, "concurrency", 32, "workers: concurrency of the closed-loop phase, and most requests in flight in the open-loop phase")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured phase")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each measured phase (0: none)")
	fs.Float64Var(&o.rate, "rate", 500, "requests/s of the open-loop phase (0: skip that phase)")
	fs.IntVar(&o.requests, "requests", 0, "end each measured phase after this many requests, if sooner than --duration (0: no limit; for smoke runs)")
	fs.IntVar(&o.senders, "senders", 10000, "distinct From numbers; a sender who texts again within TAWASUL_FOLLOWUP_WINDOW adds to their submission")
	fs.IntVar(&o.dbConns, "db-conns", 0, "connections in the baseline's pool, and TAWASUL_DB_MAX_CONNS of the serve it starts (0: Tawasul's default, three per CPU)")
	fs.StringVar(&o.url, "url", "", "base URL of a running instance to load, e.g. http://127.0.0.1:8080 (empty: start one)")
	fs.StringVar(&o.publicURL, "public-url", "", "the instance's TAWASUL_PUBLIC_URL, which signatures are computed for (default --url)")
	fs.StringVar(&o.authToken, "auth-token", "", "the instance's TWILIO_AUTH_TOKEN (default $TWILIO_AUTH_TOKEN)")
	fs.StringVar(&o.databaseURL, "database-url", "", "the instance's database, for the baseline (default $DATABASE_URL; empty: no baseline)")
	fs.IntVar(&o.outbound, "outbound", 0, "queue this many outbound SMS (with their send_message jobs) just before Tawasul's phases, to measure the webhook while they are sent (only without --url: they go to the Twilio simulator)")
	if len(args) == 0 || args[0] != "sms" {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		fs.Usage()
		return errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "tawasul loadgen sms: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(e.Stderr, "tawasul loadgen sms:", err)
		return errUsage
	}

	err := runLoadgenSMS(ctx, e, &o)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return err
}

// runLoadgenSMS runs the benchmark on a running instance (--url) or on one
// it starts and stops.
func runLoadgenSMS(ctx context.Context, e *Env, o *loadgenOpts) error {
	if o.url == "" {
		inst, err := startBenchInstance(ctx, e, o)
		if inst != nil {
			defer inst.stop(e)
		}
		if err != nil {
			return err
		}
		return runBench(ctx, e, o, inst.target, inst.dsn, "self-contained: private PostgreSQL (fsync=off), tawasul serve as a child process")
	}
	target := loadgen.Target{URL: o.url, PublicURL: o.publicURL, AuthToken: o.authToken}
	if target.AuthToken == "" {
		target.AuthToken = environValue(e.Environ, "TWILIO_AUTH_TOKEN")
	}
	if target.AuthToken == "" {
		fmt.Fprintln(e.Stderr, "tawasul loadgen sms: --url needs --auth-token (or TWILIO_AUTH_TOKEN): the instance refuses unsigned webhooks")
		return errUsage
	}
	dsn := o.databaseURL
	if dsn == "" {
		dsn = environValue(e.Environ, "DATABASE_URL")
	}
	return runBench(ctx, e, o, target, dsn, "running instance at "+o.url)
}

func (o *loadgenOpts) check() error {
	switch {
	case o.concurrency < 1:
		return errors.New("--concurrency must be at least 1")
	case o.duration <= 0 && o.requests <= 0:
		return errors.New("--duration must be positive (or --requests set)")
	case o.warmup < 0:
		return errors.New("--warmup must not be negative")
	case o.rate < 0:
		return errors.New("--rate must not be negative")
	case o.requests < 0:
		return errors.New("--requests must not be negative")
	case o.outbound < 0:
		return errors.New("--outbound must not be negative")
	case o.senders < 1 || o.senders > loadgen.MaxSenders:
		return fmt.Errorf("--senders must be between 1 and %d", loadgen.MaxSenders)
	case o.dbConns != 0 && o.dbConns < 4:
		return errors.New("--db-conns must be at least 4 (as TAWASUL_DB_MAX_CONNS)")
	case o.url != "" && o.outbound > 0:
		return errors.New("--outbound only works without --url, on the instance loadgen starts, which sends through the Twilio simulator")
	case o.url == "" && (o.publicURL != "" || o.authToken != "" || o.databaseURL != ""):
		return errors.New("--public-url, --auth-token and --database-url describe a running instance: they need --url")
	}
	return nil
}

// runBench measures the baseline (when dsn is set) and then the target, and
// prints the results as a markdown table with the targets.
func runBench(ctx context.Context, e *Env, o *loadgenOpts, target loadgen.Target, dsn, setup string) error {
	loads := []loadgen.Load{{Concurrency: o.concurrency, Duration: o.duration, Requests: o.requests}}
	if o.rate > 0 {
		loads = append(loads, loadgen.Load{Concurrency: o.concurrency, Rate: o.rate, Duration: o.duration, Requests: o.requests})
	}

	pgVersion := "unknown (no baseline database)"
	var baseline []*loadgen.Report
	if dsn != "" {
		bl, err := loadgen.StartBaseline(ctx, dsn, o.poolSize())
		if err != nil {
			return err
		}
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := bl.Close(closeCtx); err != nil {
				fmt.Fprintln(e.Stderr, "loadgen: closing the baseline:", err)
			}
		}()
		if v, err := bl.ServerVersion(ctx); err == nil {
			pgVersion = v
		}
		// The baseline checks no signature, but requests are signed anyway,
		// so the generator's own work is the same for both targets.
		gen, err := loadgen.New(loadgen.Target{URL: bl.URL, AuthToken: "baseline"}, o.senders)
		if err != nil {
			return err
		}
		defer gen.Close()
		if baseline, err = measure(ctx, e, "baseline", gen, loads, o.warmup); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.Stderr, "loadgen: no --database-url: measuring without a baseline")
	}

	gen, err := loadgen.New(target, o.senders)
	if err != nil {
		return err
	}
	defer gen.Close()
	var sending *outboundCampaign
	if o.outbound > 0 {
		fmt.Fprintf(e.Stderr, "loadgen: queueing %d outbound messages\n", o.outbound)
		if sending, err = queueOutbound(ctx, dsn, o.outbound); err != nil {
			return err
		}
		defer sending.close()
	}
	ours, err := measure(ctx, e, "tawasul", gen, loads, o.warmup)
	if err != nil {
		return err
	}
	if sending != nil {
		progress, err := sending.progress(ctx)
		if err != nil {
			return err
		}
		setup += "; " + progress
	}

	w := e.Stdout
	fmt.Fprintf(w, "Machine: %d CPUs, %s %s/%s, PostgreSQL %s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, pgVersion)
	fmt.Fprintf(w, "Setup: %s\n", setup)
	phase := o.duration.String()
	if o.requests > 0 {
		phase = fmt.Sprintf("at most %s or %d requests", o.duration, o.requests)
	}
	fmt.Fprintf(w, "Load: each phase %s after a %s warm-up; %d workers; %d senders\n\n", phase, o.warmup, o.concurrency, o.senders)
	printBenchTable(w, baseline, ours)
	fmt.Fprintln(w)
	printTargets(w, baseline, ours)
	return nil
}

// measure runs each load on gen, each after a warm-up, and returns the
// reports in the order of loads.
func measure(ctx context.Context, e *Env, name string, gen *loadgen.Generator, loads []loadgen.Load, warmup time.Duration) ([]*loadgen.Report, error) {
	var reps []*loadgen.Report
	for _, l := range loads {
		if warmup > 0 {
			fmt.Fprintf(e.Stderr, "loadgen: %s %s: warm-up %s\n", name, l.Mode(), warmup)
			w := l
			w.Duration, w.Requests = warmup, 0
			if _, err := gen.Run(ctx, w); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(e.Stderr, "loadgen: %s %s: measuring\n", name, l.Mode())
		rep, err := gen.Run(ctx, l)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.Stderr, "loadgen: %s %s: %.0f req/s, p99 %s, errors %s\n", name, l.Mode(), rep.Throughput(), ms(rep.Latency.P99), rep.ErrorSummary())
		reps = append(reps, rep)
	}
	return reps, nil
}

// printBenchTable prints the baseline's and Tawasul's reports (same loads,
// same order; baseline may be empty) as one markdown table.
func printBenchTable(w io.Writer, baseline, ours []*loadgen.Report) {
	fmt.Fprintln(w, "| target | mode | requests | req/s | × baseline | p50 | p95 | p99 | max | errors |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
	row := func(name string, r *loadgen.Report, ratio string) {
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", name, r.Load.Mode(), r.Requests, r.Throughput(), ratio,
			ms(r.Latency.P50), ms(r.Latency.P95), ms(r.Latency.P99), ms(r.Latency.Max), r.ErrorSummary())
	}
	for i, r := range ours {
		ratio := "n/a"
		if i < len(baseline) {
			row("baseline", baseline[i], "1.00")
			ratio = fmt.Sprintf("%.2f", throughputRatio(r, baseline[i]))
		}
		row("tawasul", r, ratio)
	}
}

// printTargets says, for each of the targets, whether it was met.
func printTargets(w io.Writer, baseline, ours []*loadgen.Report) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	closed := ours[0]
	fmt.Fprintln(w, "Targets:")
	fmt.Fprintf(w, "- sustained throughput ≥ %.0f webhooks/s: %.0f/s, %s\n", targetThroughput, closed.Throughput(),
		verdict(closed.Throughput() >= targetThroughput && closed.ErrorCount() == 0))
	if len(baseline) > 0 {
		r := throughputRatio(closed, baseline[0])
		fmt.Fprintf(w, "- ≥ %.1f × the baseline's rate: %.2f × (%.0f/s vs %.0f/s), %s\n", targetBaselineRatio, r,
			closed.Throughput(), baseline[0].Throughput(), verdict(r >= targetBaselineRatio))
	} else {
		fmt.Fprintf(w, "- ≥ %.1f × the baseline's rate: not measured (no baseline)\n", targetBaselineRatio)
	}
	if len(ours) < 2 {
		fmt.Fprintf(w, "- p99 < %s at %.0f/s: not measured (--rate 0)\n", ms(targetP99), targetP99Rate)
		return
	}
	open := ours[1]
	keptUp := open.ErrorCount() == 0 && open.Throughput() >= 0.98*open.Load.Rate
	note := ""
	if open.Load.Rate != targetP99Rate {
		note = fmt.Sprintf(" (measured at %.0f/s, not %.0f/s)", open.Load.Rate, targetP99Rate)
	}
	if !keptUp {
		note += fmt.Sprintf(" (did not keep up: %.0f/s, errors %s)", open.Throughput(), open.ErrorSummary())
	}
	fmt.Fprintf(w, "- p99 < %s at %.0f/s: %s, %s%s\n", ms(targetP99), targetP99Rate, ms(open.Latency.P99),
		verdict(keptUp && open.Latency.P99 < targetP99 && open.Load.Rate >= targetP99Rate), note)
	if len(baseline) > 1 {
		fmt.Fprintf(w, "- p99 at %.0f/s, tawasul vs baseline: %s vs %s (%.1f ×)\n", open.Load.Rate, ms(open.Latency.P99),
			ms(baseline[1].Latency.P99), float64(open.Latency.P99)/float64(max1(baseline[1].Latency.P99)))
	}
}

func throughputRatio(r, base *loadgen.Report) float64 {
	if base.Throughput() == 0 {
		return 0
	}
	return r.Throughput() / base.Throughput()
}

func max1(d time.Duration) time.Duration { return max(d, 1) }

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// environValue returns the value of key in environ ("K=V" strings), or "".
func environValue(environ []string, key string) string {
	for _, kv := range slices.Backward(environ) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// benchInstance is a private PostgreSQL cluster plus a `tawasul serve`
// child process using it, made for one benchmark run.
type benchInstance struct {
	dir     string
	cluster *devpg.Cluster
	child   *exec.Cmd
	exited  chan struct{} // closed when the child has exited
	waitErr error         // the child's exit, once exited is closed
	stderr  *tailBuffer
	target  loadgen.Target
	dsn     string
}

// startBenchInstance starts the cluster and the child and waits until the
// child's /readyz answers 200. On error the returned instance (if not nil)
// must still be stopped.
func startBenchInstance(ctx context.Context, e *Env, o *loadgenOpts) (*benchInstance, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this executable to run serve: %w", err)
	}
	tmp := environValue(e.Environ, "TMPDIR")
	if tmp == "" {
		tmp = os.TempDir()
	}
	dir, err := os.MkdirTemp(tmp, "tawasul-loadgen-")
	if err != nil {
		return nil, err
	}
	inst := &benchInstance{dir: dir, stderr: &tailBuffer{max: 16 << 10}}
	// As root the cluster runs as the postgres OS user, who must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return inst, err
	}

	fmt.Fprintf(e.Stderr, "loadgen: starting a private PostgreSQL in %s\n", dir)
	inst.cluster = &devpg.Cluster{DataDir: filepath.Join(dir, "pg")}
	if inst.dsn, _, err = inst.cluster.Start(ctx); err != nil {
		return inst, err
	}

	port, err := freeTCPPort()
	if err != nil {
		return inst, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	inst.target = loadgen.Target{URL: base, PublicURL: base, AuthToken: twiliofake.NewAuthToken()}
	env := slices.DeleteFunc(slices.Clone(e.Environ), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(k, "TAWASUL_") || strings.HasPrefix(k, "TWILIO_") || strings.HasPrefix(k, "DATABASE_URL")
	})
	env = append(env,
		"DATABASE_URL="+inst.dsn,
		"TAWASUL_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"TAWASUL_PUBLIC_URL="+base,
		"TAWASUL_DATA_DIR="+dir,
		"TAWASUL_LOG_LEVEL=warn",
		"TAWASUL_DB_MAX_CONNS="+strconv.Itoa(int(o.poolSize())),
		"TWILIO_AUTH_TOKEN="+inst.target.AuthToken, // serve keeps a given token in simulator mode
	)
	fmt.Fprintf(e.Stderr, "loadgen: starting tawasul serve on %s\n", base)
	cmd := exec.Command(exe, "serve")
	cmd.Env = env
	cmd.Stderr = inst.stderr // stdout (the first admin's password for this throwaway database) is discarded
	if err := cmd.Start(); err != nil {
		return inst, fmt.Errorf("start tawasul serve: %w", err)
	}
	inst.child, inst.exited = cmd, make(chan struct{})
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()
	return inst, inst.waitReady(ctx, base)
}

// waitReady polls the child's /readyz until it answers 200, the child
// exits, ctx ends or two minutes pass.
func (b *benchInstance) waitReady(ctx context.Context, base string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tawasul serve was not ready within 2 minutes; its log:\n%s", b.stderr)
		}
		select {
		case <-b.exited:
			return fmt.Errorf("tawasul serve exited before it was ready (%v); its log:\n%s", b.waitErr, b.stderr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop stops the child (SIGTERM, then SIGKILL after 20 s) and the cluster,
// then removes the directory. A cluster that would not stop is left, and
// said so.
func (b *benchInstance) stop(e *Env) {
	if b.child != nil {
		select {
		case <-b.exited:
		default:
			_ = b.child.Process.Signal(syscall.SIGTERM)
			select {
			case <-b.exited:
			case <-time.After(20 * time.Second):
				fmt.Fprintln(e.Stderr, "loadgen: tawasul serve did not stop within 20 s of SIGTERM; killing it")
				_ = b.child.Process.Kill()
				<-b.exited
			}
		}
	}
	if b.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.cluster.Stop(ctx); err != nil {
			fmt.Fprintf(e.Stderr, "loadgen: could not stop the private PostgreSQL (%v); stop it with: pg_ctl stop -D %s, then remove %s\n",
				err, b.cluster.DataDir, b.dir)
			return
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		fmt.Fprintln(e.Stderr, "loadgen:", err)
	}
}

// freeTCPPort returns a port of 127.0.0.1 that was free a moment ago.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = slices.Delete(t.buf, 0, over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// poolSize is the pool size for the baseline and the serve child: --db-conns,
// or Tawasul's default.
func (o *loadgenOpts) poolSize() int32 {
	if o.dbConns == 0 {
		return config.DefaultDBMaxConns()
	}
	return int32(o.dbConns)
}
