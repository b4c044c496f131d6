package app

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"tawasul/internal/devpg"
)

// runServe starts `tawasul serve` in the background and returns its base URL,
// everything it printed before listening, and a stop function that cancels
// it (like SIGTERM) and returns its exit code.
func startServe(t *testing.T, environ []string) (base, banner string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, &Env{Args: []string{"serve"}, Environ: environ, Stdout: pw, Stderr: io.Discard, Stdin: strings.NewReader("")})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var out strings.Builder
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "Tawasul is listening on "); ok {
			base = strings.Fields(rest)[0]
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve exited before listening (code %d):\n%s", <-done, out.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return base, out.String(), func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop within 20 s of cancellation")
			return -1
		}
	}
}

// TestServeRestartKeepsData runs `tawasul serve` twice on the same data
// directory with no DATABASE_URL: the first run starts a private cluster,
// migrates, creates the first admin and serves; stopping it stops the
// cluster; the second run finds the same data (no second admin).
func TestServeRestartKeepsData(t *testing.T) {
	if _, err := devpg.FindBinDir(); err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "tawasul-app-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the cluster runs as the postgres user under root
	t.Cleanup(func() {
		_ = (&devpg.Cluster{DataDir: dir + "/pg"}).Stop(context.Background())
		os.RemoveAll(dir)
	})
	environ := []string{"TAWASUL_DATA_DIR=" + dir, "TAWASUL_ADDR=127.0.0.1:0", "TAWASUL_LOG_LEVEL=warn"}

	base, banner, stop := startServe(t, environ)
	if !strings.Contains(banner, "First administrator created") || !strings.Contains(banner, "admin@tawasul.local") {
		t.Errorf("first run did not print the first admin's credentials:\n%s", banner)
	}
	for _, p := range []string{"/healthz", "/readyz", "/signin"} {
		res, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d after cancellation", code)
	}
	if _, err := os.Stat(dir + "/pg/postmaster.pid"); !os.IsNotExist(err) {
		t.Error("the private cluster is still running after serve stopped")
	}

	base, banner, stop = startServe(t, environ)
	if strings.Contains(banner, "First administrator created") {
		t.Error("second run created another admin: the data did not persist")
	}
	if res, err := http.Get(base + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Errorf("second run readyz: %v %v", res, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("second exit code %d", code)
	}
}

func TestServeRefusesPendingMigrationsWhenToldNotToMigrate(t *testing.T) {
	if _, err := devpg.FindBinDir(); err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "tawasul-app-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	t.Cleanup(func() {
		_ = (&devpg.Cluster{DataDir: dir + "/pg"}).Stop(context.Background())
		os.RemoveAll(dir)
	})
	var stderr strings.Builder
	code := Run(context.Background(), &Env{Args: []string{"serve", "--migrate=false"},
		Environ: []string{"TAWASUL_DATA_DIR=" + dir, "TAWASUL_ADDR=127.0.0.1:0"}, Stdout: io.Discard, Stderr: &stderr})
	if code != 1 || !strings.Contains(stderr.String(), "pending migrations: run `tawasul migrate`") {
		t.Errorf("code %d, stderr:\n%s", code, stderr.String())
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	if code := Run(context.Background(), &Env{Args: []string{"help"}, Stdout: &out}); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for _, want := range []string{"serve", "migrate", "user", "token", "DATABASE_URL", "TAWASUL_PUBLIC_URL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	var errOut strings.Builder
	if code := Run(context.Background(), &Env{Args: []string{"frobnicate"}, Stderr: &errOut}); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

// TestSubcommandHelpNeedsNoDatabase: a command's help, or a verb it does
// not know, is answered without opening the database (here unreachable).
func TestSubcommandHelpNeedsNoDatabase(t *testing.T) {
	environ := []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"user", "--help"}, 0}, {[]string{"token", "-h"}, 0}, {[]string{"user", "add", "--help"}, 0},
		{[]string{"user", "bogus"}, 2}, {[]string{"token"}, 2}, {[]string{"migrate", "bogus"}, 2},
	} {
		var out, errOut strings.Builder
		code := Run(context.Background(), &Env{Args: tt.args, Environ: environ, Stdout: &out, Stderr: &errOut})
		if code != tt.code || !strings.Contains(errOut.String()+out.String(), "Usage: tawasul "+tt.args[0]) {
			t.Errorf("%v: exit %d, want %d with the usage\n%s%s", tt.args, code, tt.code, out.String(), errOut.String())
		}
		if strings.Contains(errOut.String(), "database") {
			t.Errorf("%v reached for the database:\n%s", tt.args, errOut.String())
		}
	}
}
