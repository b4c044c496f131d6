package devpg

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// newCluster returns a Cluster in a fresh directory under os.TempDir(),
// stopped and deleted when the test ends. It skips the test when there are
// no PostgreSQL server binaries.
func newCluster(t *testing.T) *Cluster {
	t.Helper()
	if _, err := FindBinDir(); err != nil {
		t.Skip(err.Error())
	}
	dir, err := os.MkdirTemp("", "devpg-test-*")
	if err != nil {
		t.Fatal(err)
	}
	// MkdirTemp makes it 0700; the postgres OS user (when we are root) must
	// be able to enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		DataDir: filepath.Join(dir, "cluster"),
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	return c
}

// start calls c.Start and fails the test on error or an unexpected started.
func start(t *testing.T, c *Cluster, wantStarted bool) string {
	t.Helper()
	t0 := time.Now()
	dsn, started, err := c.Start(t.Context())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start: started=%v in %v", started, time.Since(t0).Round(time.Millisecond))
	if started != wantStarted {
		t.Fatalf("Start: started = %v, want %v", started, wantStarted)
	}
	return dsn
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func exec1(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStartInitialisesAndDataPersists(t *testing.T) {
	t.Parallel()
	c := newCluster(t)

	dsn := start(t, c, true)
	if !strings.HasPrefix(dsn, "postgres://postgres:") || !strings.Contains(dsn, "@127.0.0.1:") || !strings.Contains(dsn, "/postgres?") {
		t.Errorf("DSN %q: want postgres://postgres:...@127.0.0.1:<port>/postgres?...", dsn)
	}
	for _, name := range []string{"PG_VERSION", "postmaster.pid"} {
		if _, err := os.Stat(filepath.Join(c.DataDir, name)); err != nil {
			t.Errorf("cluster file: %v", err)
		}
	}
	fi, err := os.Stat(c.DataDir + ".pw")
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("password file mode = %v, want 0600", perm)
	}
	pw, _ := os.ReadFile(c.DataDir + ".pw")
	if !regexp.MustCompile(`^[0-9a-f]{32}\n?$`).Match(pw) {
		t.Errorf("password file holds %q, want 32 hex digits", pw)
	}
	if fi, err := os.Stat(c.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, mode %v; want mode 0700", err, fi.Mode().Perm())
	}

	conn := connect(t, dsn)
	exec1(t, conn, "create table kv (k text primary key, v text)")
	exec1(t, conn, "insert into kv values ('water', 'المياه')")
	if got := queryString(t, conn, "show lc_ctype"); got != "C.UTF-8" {
		t.Errorf("lc_ctype = %q, want C.UTF-8", got)
	}
	if got := queryString(t, conn, "show server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}
	if got := queryString(t, conn, "show max_connections"); got != "200" {
		t.Errorf("max_connections = %q, want 200", got)
	}
	if got := queryString(t, conn, "show listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, want 127.0.0.1", got)
	}
	// With a non-UTF-8 ctype pg_trgm sees no letters in Arabic and the
	// similarity of two equal words is 0, not 1.
	exec1(t, conn, "create extension pg_trgm")
	var sim float64
	if err := conn.QueryRow(t.Context(), "select similarity('المياه', 'المياه')").Scan(&sim); err != nil {
		t.Fatal(err)
	}
	if sim != 1 {
		t.Errorf("similarity of equal Arabic words = %v, want 1", sim)
	}
	conn.Close(t.Context())

	if running, err := c.Running(); err != nil || !running {
		t.Errorf("Running of a started cluster: %v %v", running, err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, postmaster.pid: %v; want it gone", err)
	}
	if running, err := c.Running(); err != nil || running {
		t.Errorf("Running of a stopped cluster: %v %v", running, err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Errorf("Stop of a stopped cluster: %v", err)
	}

	dsn = start(t, c, true)
	conn = connect(t, dsn)
	if got := queryString(t, conn, "select v from kv where k = 'water'"); got != "المياه" {
		t.Errorf("after restart, row = %q, want المياه", got)
	}
}

func TestStartReusesRunningServer(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dsn1 := start(t, c, true)
	pid1, _, _ := readPostmasterPID(c.DataDir)

	// A second Cluster value for the same directory, as another process
	// would have.
	other := &Cluster{DataDir: c.DataDir}
	dsn2 := start(t, other, false)
	if dsn2 != dsn1 {
		t.Errorf("reused DSN = %q, want %q", dsn2, dsn1)
	}
	if pid2, _, _ := readPostmasterPID(c.DataDir); pid2 != pid1 {
		t.Errorf("postmaster PID changed from %d to %d: the server was restarted", pid1, pid2)
	}
	connect(t, dsn2)
}

func TestStartConcurrently(t *testing.T) {
	t.Parallel()
	c := newCluster(t)

	const n = 4
	var (
		wg      sync.WaitGroup
		dsns    [n]string
		started [n]bool
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			cl := &Cluster{DataDir: c.DataDir}
			dsns[i], started[i], errs[i] = cl.Start(t.Context())
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Start #%d: %v", i, errs[i])
		}
		if dsns[i] != dsns[0] {
			t.Errorf("Start #%d: DSN %q, want %q like #0", i, dsns[i], dsns[0])
		}
	}
	if k := countTrue(started[:]); k != 1 {
		t.Errorf("%d calls report started=true, want exactly 1", k)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestStartAfterCrash(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	conn := connect(t, start(t, c, true))
	exec1(t, conn, "create table survivor (x int)")
	exec1(t, conn, "insert into survivor values (42)")
	exec1(t, conn, "checkpoint") // synchronous_commit=off: make sure the row is on disk
	conn.Close(t.Context())

	// Crash: SIGKILL the postmaster and its children, leaving postmaster.pid.
	pid, _, err := readPostmasterPID(c.DataDir)
	if err != nil || pid == 0 {
		t.Fatalf("postmaster.pid: pid %d, %v", pid, err)
	}
	procs := append([]int{pid}, childrenOf(pid)...)
	for _, p := range procs {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("kill %d: %v", p, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range procs {
		for pidAlive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still alive after SIGKILL", p)
			}
			time.Sleep(5 * time.Millisecond) // polling for a condition, not timing
		}
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "postmaster.pid")); err != nil {
		t.Fatalf("the crash should leave postmaster.pid behind: %v", err)
	}

	conn = connect(t, start(t, c, true))
	if got := queryString(t, conn, "select x::text from survivor"); got != "42" {
		t.Errorf("after crash, row = %q, want 42", got)
	}
	conn.Close(t.Context())

	// The same where init reaps the dead postmaster at once: postmaster.pid
	// names a PID that no longer exists.
	pidFile := filepath.Join(c.DataDir, "postmaster.pid")
	content, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(content), "\n")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(dead.Process.Pid)+"\n"+rest), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t) // as the server left it: owned by the user it runs as
	if err := os.Chown(pidFile, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Errorf("Stop with a stale postmaster.pid: %v", err)
	}
	conn = connect(t, start(t, c, true))
	if got := queryString(t, conn, "select x::text from survivor"); got != "42" {
		t.Errorf("after start over a stale postmaster.pid, row = %q, want 42", got)
	}
}

// childrenOf returns the PIDs whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:]) // state ppid ...
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

func TestPasswordRequired(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dsn := start(t, c, true)
	connect(t, dsn) // the right password works

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for name, user := range map[string]*url.Userinfo{
		"wrong password": url.UserPassword("postgres", "not-the-password"),
		"no password":    url.User("postgres"),
	} {
		u.User = user
		conn, err := pgx.Connect(t.Context(), u.String())
		if err == nil {
			conn.Close(t.Context())
			t.Errorf("%s: connected; want authentication to fail", name)
		}
	}
}

func TestStartRefusesNonClusterDir(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if err := os.Mkdir(c.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(c.DataDir, "precious.txt")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "not a PostgreSQL cluster") {
		t.Errorf("Start on a non-empty non-cluster dir: err = %v, want a refusal", err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep me" {
		t.Errorf("the dir's content was touched: %q, %v", b, err)
	}
}

func TestAdoptRelease(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &Cluster{DataDir: filepath.Join(dir, "cluster")}
	ownerFile := c.DataDir + ".owner"
	self := strconv.Itoa(os.Getpid())

	adopt := func(want bool) {
		t.Helper()
		got, err := c.Adopt()
		if err != nil {
			t.Fatalf("Adopt: %v", err)
		}
		if got != want {
			t.Fatalf("Adopt = %v, want %v", got, want)
		}
	}
	owner := func() string {
		t.Helper()
		b, err := os.ReadFile(ownerFile)
		if err != nil {
			t.Fatalf("owner file: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	setOwner := func(pid int) {
		t.Helper()
		if err := os.WriteFile(ownerFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	adopt(true) // no owner file
	if got := owner(); got != self {
		t.Errorf("owner = %s, want our PID %s", got, self)
	}
	adopt(true) // owned by us already

	if err := c.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := os.Stat(ownerFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Release, owner file: %v; want it gone", err)
	}
	if err := c.Release(); err != nil {
		t.Errorf("Release without owner file: %v", err)
	}

	// An owner that has exited (crashed): adopted.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	setOwner(cmd.Process.Pid)
	adopt(true)
	if got := owner(); got != self {
		t.Errorf("after adopting from a dead owner, owner = %s, want %s", got, self)
	}

	// A live owner that is not us: not adopted, and not released by us.
	setOwner(os.Getppid())
	adopt(false)
	if err := c.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := owner(); got != strconv.Itoa(os.Getppid()) {
		t.Errorf("owner = %s, want the live foreign owner %d kept", got, os.Getppid())
	}

	// Garbage in the owner file: adopted.
	if err := os.WriteFile(ownerFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	adopt(true)
}

func TestFindBinDir(t *testing.T) {
	// Not parallel: t.Setenv.
	if got := ErrNoBinaries.Error(); got != "PostgreSQL server binaries not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set DATABASE_URL" {
		t.Errorf("ErrNoBinaries = %q", got)
	}

	t.Run("PG_BINDIR without binaries", func(t *testing.T) {
		empty := t.TempDir()
		t.Setenv("PG_BINDIR", empty)
		dir, err := FindBinDir()
		if !errors.Is(err, ErrNoBinaries) {
			t.Fatalf("FindBinDir = %q, %v; want ErrNoBinaries", dir, err)
		}
		if !strings.Contains(err.Error(), empty) {
			t.Errorf("error %q does not name PG_BINDIR %s", err, empty)
		}
	})

	t.Run("PG_BINDIR with binaries", func(t *testing.T) {
		fake := fakeBinDir(t, t.TempDir())
		t.Setenv("PG_BINDIR", fake)
		if dir, err := FindBinDir(); err != nil || dir != fake {
			t.Errorf("FindBinDir = %q, %v; want %q", dir, err, fake)
		}
	})

	t.Run("empty PATH finds Debian layout", func(t *testing.T) {
		dirs, _ := filepath.Glob(debianPattern)
		if len(dirs) == 0 {
			t.Skip("no " + debianPattern + " on this machine")
		}
		t.Setenv("PG_BINDIR", "")
		t.Setenv("PATH", "")
		dir, err := FindBinDir()
		if err != nil {
			t.Fatalf("FindBinDir: %v", err)
		}
		if want := newestVersionDir(dirs); dir != want {
			t.Errorf("FindBinDir = %q, want %q", dir, want)
		}
		if !hasServerBinaries(dir) {
			t.Errorf("%s lacks the server binaries", dir)
		}
	})
}

func TestNewestVersionDirSortsNumerically(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var dirs []string
	for _, v := range []string{"9.6", "15", "16", "10", "beta"} {
		dirs = append(dirs, fakeBinDir(t, filepath.Join(root, v, "bin")))
	}
	// 17 has no binaries, so it must not win.
	empty := filepath.Join(root, "17", "bin")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, empty)
	slices.Sort(dirs) // lexical: 9.6 last
	if got, want := newestVersionDir(dirs), filepath.Join(root, "16", "bin"); got != want {
		t.Errorf("newestVersionDir = %q, want %q", got, want)
	}
	if got := newestVersionDir(nil); got != "" {
		t.Errorf("newestVersionDir(nil) = %q, want empty", got)
	}
}

// fakeBinDir creates dir holding executable stand-ins for the server
// programs, and returns it.
func fakeBinDir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range serverBinaries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckTraversable(t *testing.T) {
	t.Parallel()
	// Not t.TempDir(): its parent is mode 0700.
	root, err := os.MkdirTemp("", "devpg-test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(root, "closed")
	inner := filepath.Join(closed, "inner")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	stranger := &syscall.Credential{Uid: 54321, Gid: 54321} // owns nothing here

	err = checkTraversable(inner, stranger)
	if err == nil || !strings.Contains(err.Error(), closed) || !strings.Contains(err.Error(), "TAWASUL_DATA_DIR") {
		t.Errorf("checkTraversable(%s) = %v; want an error naming %s and suggesting TAWASUL_DATA_DIR", inner, err, closed)
	}
	if err := os.Chmod(closed, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := checkTraversable(inner, stranger); err != nil {
		t.Errorf("after chmod o+x: %v", err)
	}
}

func TestTestDataDir(t *testing.T) {
	t.Parallel()
	want := filepath.Join(os.TempDir(), "tawasul-test-pg-"+strconv.Itoa(os.Geteuid()), "cluster")
	if got := TestDataDir(); got != want {
		t.Errorf("TestDataDir = %q, want %q", got, want)
	}
}
