package loadgen_test

// Tests of `tawasul loadgen sms` end to end. They live here rather than in
// internal/app because the self-contained mode runs os.Executable() — this
// test binary — as its `tawasul serve` child, which TestMain turns into
// tawasul.

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/app"
	"tawasul/internal/dbtest"
	"tawasul/internal/devpg"
)

// runAsTawasul, set in the environment, makes the test binary run as
// `tawasul` with its arguments. Its name starts with none of the prefixes
// (TAWASUL_, TWILIO_, DATABASE_URL) the command keeps from its child.
const runAsTawasul = "LOADGEN_TEST_RUN_AS_TAWASUL"

func TestMain(m *testing.M) {
	if os.Getenv(runAsTawasul) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := app.Main(ctx)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// smokeArgs make each phase a fixed number of requests, with no warm-up and
// a rate so high that no request waits for its due time.
var smokeArgs = []string{"--requests", "40", "--duration", "10m", "--warmup", "0", "--concurrency", "4", "--rate", "1e9", "--senders", "5"}

func runLoadgen(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = app.Run(context.Background(), &app.Env{Args: append([]string{"loadgen"}, args...), Environ: environ,
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// checkTable checks that the printed table has a baseline and a tawasul row
// for both modes, each with n requests and no errors.
func checkTable(t *testing.T, out string, n int) {
	t.Helper()
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| baseline |") && !strings.HasPrefix(line, "| tawasul |") {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 10 || cells[2] != strconv.Itoa(n) || cells[9] != "0" {
			t.Errorf("row %q: want %d requests and 0 errors", line, n)
		}
	}
	if rows != 4 || !strings.Contains(out, "| tawasul | max @ 4 |") || !strings.Contains(out, "| tawasul | 1000000000/s |") {
		t.Errorf("want 4 rows (baseline and tawasul, both modes):\n%s", out)
	}
	if !strings.Contains(out, "Targets:") {
		t.Errorf("no targets in the output:\n%s", out)
	}
}

// TestSelfContained runs the command with no --url: it must start a
// cluster and tawasul serve, measure both targets without a single error,
// and leave nothing behind in its temporary directory.
func TestSelfContained(t *testing.T) {
	t.Parallel()
	if _, err := devpg.FindBinDir(); err != nil {
		t.Skip(err)
	}
	tmp, err := os.MkdirTemp("", "tawasul-loadgen-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(tmp, 0o755) // the cluster runs as the postgres user under root
	t.Cleanup(func() { os.RemoveAll(tmp) })

	environ := append(os.Environ(), runAsTawasul+"=1", "TMPDIR="+tmp)
	code, out, errs := runLoadgen(t, environ, append([]string{"sms", "--outbound", "30"}, smokeArgs...)...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	checkTable(t, out, 40)
	// --outbound 30: the simulator sends them while Tawasul is measured.
	m := regexp.MustCompile(`(\d+) of 30 queued outbound messages were sent .*, (\d+) still pending`).FindStringSubmatch(out)
	if m == nil {
		t.Errorf("no line on the queued outbound messages:\n%s", out)
	} else if sent, _ := strconv.Atoi(m[1]); sent > 30 {
		t.Errorf("%d of 30 messages reported sent", sent)
	} else if pending, _ := strconv.Atoi(m[2]); sent+pending > 30 {
		t.Errorf("%d sent and %d pending of 30", sent, pending)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d entries left in TMPDIR (first: %s); the cluster's directory must be removed", len(left), left[0].Name())
	}
}

// TestRunningInstance starts tawasul serve in this process and loads it
// with --url: every webhook must be accepted and stored.
func TestRunningInstance(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	const token, publicURL = "runningInstanceToken7", "https://tawasul.example.gov.sa"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- app.Run(ctx, &app.Env{Args: []string{"serve"}, Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
			Environ: []string{"DATABASE_URL=" + dsn, "TAWASUL_ADDR=" + addr, "TAWASUL_PUBLIC_URL=" + publicURL,
				"TWILIO_AUTH_TOKEN=" + token, "TAWASUL_LOG_LEVEL=error"}})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitReady(t, "http://"+addr, done)

	args := append([]string{"sms", "--url", "http://" + addr, "--public-url", publicURL, "--database-url", dsn}, smokeArgs...)
	code, out, errs := runLoadgen(t, []string{"TWILIO_AUTH_TOKEN=" + token}, args...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	checkTable(t, out, 40)

	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var inbound, schemas int
	err = conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM messages WHERE direction = 'inbound'),
		(SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'loadgen\_%')`).Scan(&inbound, &schemas)
	if err != nil {
		t.Fatal(err)
	}
	if inbound != 80 {
		t.Errorf("%d inbound messages stored, want 80 (two phases of 40)", inbound)
	}
	if schemas != 0 {
		t.Errorf("the baseline's schema was not dropped")
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"sms", "--help"}, 0},
		{nil, 2},
		{[]string{"mms"}, 2},
		{[]string{"sms", "--url", "http://127.0.0.1:1"}, 2}, // no auth token
		{[]string{"sms", "--auth-token", "x"}, 2},           // needs --url
		{[]string{"sms", "--concurrency", "0"}, 2},
		{[]string{"sms", "--senders", "0"}, 2},
		{[]string{"sms", "--duration", "0s"}, 2}, // and no --requests
		{[]string{"sms", "extra"}, 2},
		{[]string{"sms", "--db-conns", "2"}, 2}, // below TAWASUL_DB_MAX_CONNS's minimum
		{[]string{"sms", "--outbound", "-1"}, 2},
		{[]string{"sms", "--url", "http://127.0.0.1:1", "--auth-token", "x", "--outbound", "5"}, 2}, // could send real SMS
	}
	for _, tt := range tests {
		if code, _, errs := runLoadgen(t, nil, tt.args...); code != tt.code {
			t.Errorf("loadgen %v: exit code %d, want %d\n%s", tt.args, code, tt.code, errs)
		}
	}
}

// waitReady polls base/readyz until it answers 200, failing if serve exits
// or a minute passes.
func waitReady(t *testing.T, base string, exited <-chan int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited with code %d before it was ready", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready within a minute")
		}
		time.Sleep(20 * time.Millisecond) // polling for a condition, with a deadline
	}
}
