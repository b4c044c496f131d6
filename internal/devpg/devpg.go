// Package devpg runs a private PostgreSQL cluster for development and tests,
// using the PostgreSQL server binaries installed on the machine. It is what
// `tawasul serve` (and the other subcommands) use when DATABASE_URL is unset,
// and what the test helpers use to get a database.
//
// A cluster is a data directory plus files next to it:
//
//	DataDir          the cluster itself (PG_VERSION, base/, postmaster.pid, ...)
//	DataDir.pw       the superuser password (mode 0600)
//	DataDir.log      the server log (appended to on every start)
//	DataDir.lock     flock(2)ed while Start, Stop, Adopt or Release run
//	DataDir.owner    PID of the process responsible for stopping the server
//	DataDir.initdb   transient: initdb works here, then it is renamed to DataDir
//
// The server listens on 127.0.0.1 only, on a port chosen when it starts,
// requires a password (scram-sha-256), and trades durability for speed
// (fsync=off): it is for development data, never for production.
//
// PostgreSQL refuses to run as root; when the current process is root, the
// server programs are run as the "postgres" OS user, which then owns DataDir.
package devpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private PostgreSQL cluster kept in DataDir. The zero value is
// not usable: set DataDir. A Cluster holds no state besides its fields, so
// several Cluster values (in one or many processes) may refer to the same
// DataDir; Start, Stop, Adopt and Release serialise on DataDir+".lock".
type Cluster struct {
	// DataDir is the cluster's data directory (PG_VERSION etc. live in it).
	// It should be absolute; a relative path is resolved against the
	// working directory. Its parent is created (mode 0755) if missing.
	DataDir string
	// BinDir is the directory holding initdb, pg_ctl and postgres; empty
	// means FindBinDir().
	BinDir string
	// Logger receives progress messages (initialising, starting, stopping);
	// nil discards them.
	Logger *slog.Logger
}

// TestDataDir returns the DataDir of the cluster shared by `go test` runs:
// <os.TempDir()>/tawasul-test-pg-<euid>/cluster. Tests never stop it, so
// later test runs reuse the running server in milliseconds.
func TestDataDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("tawasul-test-pg-%d", os.Geteuid()), "cluster")
}

// Timeouts for the server programs. Start and Stop also honour their ctx.
const (
	pgCtlTimeout   = 60 * time.Second // pg_ctl -t
	connectTimeout = 30 * time.Second // verifying a started or reused server
	startAttempts  = 3                // retries when the chosen port was taken meanwhile
)

// serverOptions are passed to postgres on every start (after -c port=N).
// The values must not need shell quoting beyond what is written here:
// pg_ctl hands them to /bin/sh.
var serverOptions = []string{
	"-c listen_addresses=127.0.0.1",
	"-c unix_socket_directories=''", // TCP only: no socket dir to get wrong
	"-c fsync=off",                  // development data: speed over durability
	"-c synchronous_commit=off",
	"-c full_page_writes=off",
	"-c max_connections=200", // tests open many databases in parallel
}

// Start makes sure the cluster is initialised and running, and returns a DSN
// (a postgres:// URL) for database "postgres" as superuser "postgres".
//
//   - If DataDir holds no cluster yet, it is created with initdb (UTF8,
//     locale C.UTF-8, scram-sha-256, a random password kept in
//     DataDir+".pw"). An existing non-empty DataDir that is not a cluster
//     is an error; Start never deletes data.
//   - If the server is already running it is reused as is, not restarted,
//     and started is false. Otherwise it is started on a free port of
//     127.0.0.1 with its log in DataDir+".log", and started is true (also
//     when the returned error says it then could not be used). A
//     postmaster.pid left behind by a crash does not prevent the start.
//   - Before returning, Start connects to the server and runs `select 1`.
//
// Concurrent calls for the same DataDir, from any number of processes, are
// safe: they are serialised, and exactly one of them starts the server.
// Start does not record ownership; see Adopt.
func (c *Cluster) Start(ctx context.Context) (dsn string, started bool, err error) {
	dataDir, err := c.dataDir()
	if err != nil {
		return "", false, err
	}
	unlock, err := lockDir(ctx, dataDir)
	if err != nil {
		return "", false, err
	}
	defer unlock()

	pid, port, err := readPostmasterPID(dataDir)
	hasPIDFile := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if hasPIDFile && isPostmaster(pid) {
		dsn, err := reuse(ctx, dataDir, pid, port)
		if err == nil {
			c.logger().Debug("devpg: reusing running PostgreSQL", "dir", dataDir, "port", port)
		}
		return dsn, false, err
	}

	r, err := c.runner(dataDir)
	if err != nil {
		return "", false, err
	}
	if !initialised(dataDir) {
		if err := r.initdb(ctx); err != nil {
			return "", false, err
		}
	}
	password, err := readPassword(dataDir)
	if err != nil {
		return "", false, err
	}
	if hasPIDFile && pidExists(pid) {
		// A crash left postmaster.pid naming a process that exists but is
		// no server: a zombie never reaped (some container inits do not
		// reap) or an unrelated process that got the PID. The server would
		// take it for a running postmaster and refuse to start, so move the
		// file aside. (For a PID that is simply gone, the server copes.)
		// Orphaned server processes still attached to the old shared memory
		// are still detected by the server itself.
		stale := filepath.Join(dataDir, "postmaster.pid")
		if err := os.Rename(stale, stale+".stale"); err != nil {
			return "", false, fmt.Errorf("devpg: move stale postmaster.pid aside: %w", err)
		}
		c.logger().Warn("devpg: moved aside stale postmaster.pid", "dir", dataDir, "pid", pid)
	}
	port, err = r.start(ctx)
	if err != nil {
		return "", false, err
	}
	c.logger().Info("devpg: started PostgreSQL", "dir", dataDir, "port", port, "log", dataDir+".log")
	dsn = makeDSN(port, password)
	if err := verify(ctx, dsn); err != nil {
		return "", true, fmt.Errorf("devpg: started PostgreSQL in %s, but %w (server log: %s)", dataDir, err, dataDir+".log")
	}
	return dsn, true, nil
}

// Stop stops the cluster's server with `pg_ctl stop -m fast -w` (open
// sessions are disconnected, running transactions rolled back) and waits
// until it has exited. It returns nil when the server is not running or
// DataDir holds no cluster.
func (c *Cluster) Stop(ctx context.Context) error {
	dataDir, err := c.dataDir()
	if err != nil {
		return err
	}
	unlock, err := lockDir(ctx, dataDir)
	if err != nil {
		return err
	}
	defer unlock()

	pid, _, err := readPostmasterPID(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isPostmaster(pid) {
		return nil // a crash's leftover; Start copes with it
	}
	r, err := c.runner(dataDir)
	if err != nil {
		return err
	}
	out, err := r.run(ctx, "pg_ctl", "stop", "-D", dataDir, "-m", "fast", "-w", "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)))
	if err != nil {
		return cmdError("pg_ctl stop", err, out)
	}
	c.logger().Info("devpg: stopped PostgreSQL", "dir", dataDir)
	return nil
}

// Running reports whether the cluster's server is running, as its
// postmaster.pid says; Stop still copes with one that stops meanwhile.
func (c *Cluster) Running() (bool, error) {
	dataDir, err := c.dataDir()
	if err != nil {
		return false, err
	}
	pid, _, err := readPostmasterPID(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isPostmaster(pid), nil
}

// dataDir returns the absolute DataDir, creating its parent if needed.
func (c *Cluster) dataDir() (string, error) {
	if c.DataDir == "" {
		return "", errors.New("devpg: Cluster.DataDir is empty")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return "", fmt.Errorf("devpg: data dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("devpg: create parent of data dir: %w", err)
	}
	return dir, nil
}

func (c *Cluster) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// initialised reports whether dataDir holds a cluster made by initdb.
func initialised(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	return err == nil
}

// reuse returns a DSN for the server running in dataDir, after checking
// that it accepts connections.
func reuse(ctx context.Context, dataDir string, pid, port int) (string, error) {
	if port == 0 {
		return "", fmt.Errorf("devpg: PostgreSQL in %s is running (PID %d), but its postmaster.pid has no port (is it still starting?)", dataDir, pid)
	}
	password, err := readPassword(dataDir)
	if err != nil {
		return "", err
	}
	dsn := makeDSN(port, password)
	if err := verify(ctx, dsn); err != nil {
		return "", fmt.Errorf("devpg: PostgreSQL in %s is running (PID %d, port %d), but %w; see %s, or stop it with: pg_ctl stop -D %s",
			dataDir, pid, port, err, dataDir+".log", dataDir)
	}
	return dsn, nil
}

// readPostmasterPID returns the PID (line 1) and port (line 4) recorded in
// dataDir/postmaster.pid; either is 0 when missing or malformed (the server
// writes the file in steps while it starts). The error wraps
// fs.ErrNotExist when there is no such file.
func readPostmasterPID(dataDir string) (pid, port int, err error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, 0, fmt.Errorf("devpg: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	field := func(i int) int {
		if i >= len(lines) {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(lines[i]))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return field(0), field(3), nil
}

// isPostmaster reports whether pid is a live PostgreSQL server process. Where
// /proc exists, a live process with another name (the PID was reused after a
// crash or reboot) does not count.
func isPostmaster(pid int) bool {
	if !pidAlive(pid) {
		return false
	}
	comm, _, ok := procStat(pid)
	return !ok || comm == "postgres" || comm == "postmaster"
}

// readPassword returns the superuser password kept next to dataDir.
func readPassword(dataDir string) (string, error) {
	b, err := os.ReadFile(dataDir + ".pw")
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("devpg: the cluster in %s has no password file %s: restore it, or delete the cluster (and its data) to start afresh", dataDir, dataDir+".pw")
	}
	if err != nil {
		return "", fmt.Errorf("devpg: read password: %w", err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("devpg: password file %s is empty", dataDir+".pw")
	}
	return pw, nil
}

// makeDSN returns the URL of database "postgres" as superuser "postgres".
func makeDSN(port int, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// verify connects to dsn and runs `select 1`. Its error reads as a clause
// ("cannot connect: ..."), and never contains the password.
func verify(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		return fmt.Errorf("select 1 failed: %w", err)
	}
	return nil
}

// runner runs the server programs, as the postgres OS user when we are root.
type runner struct {
	dataDir string
	binDir  string
	cred    *syscall.Credential // nil: run as the current user
	env     []string
	log     *slog.Logger
}

// runner resolves the bin dir and the OS user to run the server as.
func (c *Cluster) runner(dataDir string) (*runner, error) {
	binDir := c.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if !hasServerBinaries(binDir) {
		return nil, fmt.Errorf("devpg: BinDir %s does not contain %s: %w", binDir, strings.Join(serverBinaries, ", "), ErrNoBinaries)
	}

	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	r := &runner{
		dataDir: dataDir,
		binDir:  binDir,
		log:     c.logger(),
		// A minimal environment: no PG* variables leak into the server, and
		// the locale C.UTF-8 exists on every modern glibc and macOS.
		env: []string{"PATH=" + path, "LC_ALL=C.UTF-8", "LANG=C.UTF-8"},
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		r.env = append(r.env, "TZ="+tz)
	}
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return nil, err
		}
		if err := checkTraversable(filepath.Dir(dataDir), cred); err != nil {
			return nil, err
		}
		r.cred = cred
	}
	return r, nil
}

// postgresCredential returns the identity of the "postgres" OS user.
func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf(`devpg: running as root, and PostgreSQL refuses to run as root, but there is no "postgres" OS user to run it as (%v): create one (Debian/Ubuntu: apt-get install postgresql creates it), run as a non-root user, or set DATABASE_URL`, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("devpg: OS user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	groups, _ := u.GroupIds() // best effort: the primary group is enough
	for _, g := range groups {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}

// checkTraversable returns an error naming the first directory among dir
// and its ancestors that the user cred cannot enter (no search permission).
// ACLs are not consulted.
func checkTraversable(dir string, cred *syscall.Credential) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("devpg: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // not a Unix stat: cannot tell, let the server programs find out
		}
		mode := fi.Mode().Perm()
		var can bool
		switch {
		case st.Uid == cred.Uid:
			can = mode&0o100 != 0
		case st.Gid == cred.Gid || containsUint32(cred.Groups, st.Gid):
			can = mode&0o010 != 0
		default:
			can = mode&0o001 != 0
		}
		if !can {
			return fmt.Errorf("devpg: the data dir must be reachable by the postgres OS user (PostgreSQL refuses to run as root), but it cannot enter %s (mode %04o): set TAWASUL_DATA_DIR to a directory under /var/tmp or /tmp, or chmod o+x %s",
				d, mode, d)
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func containsUint32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// run runs a server program from the bin dir and returns its combined
// output. When ctx is done the program gets SIGTERM (so that initdb cleans
// up after itself), then SIGKILL 10s later.
func (r *runner) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, name), args...)
	cmd.Dir = "/" // the postgres user may not be able to enter our working directory
	cmd.Env = r.env
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	return cmd.CombinedOutput()
}

// chown gives path to the user the server runs as, when that is not us.
func (r *runner) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	return nil
}

// initdb creates the cluster. It runs initdb in DataDir+".initdb" and renames
// the result to DataDir only once it is complete, so an interrupted initdb
// never leaves a half-made cluster in DataDir.
func (r *runner) initdb(ctx context.Context) error {
	if entries, err := os.ReadDir(r.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("devpg: %s is not empty but is not a PostgreSQL cluster (no PG_VERSION); refusing to touch it: move it away or choose another data dir", r.dataDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devpg: %w", err)
	}

	r.log.Info("devpg: initialising PostgreSQL cluster", "dir", r.dataDir, "bindir", r.binDir)
	tmp := r.dataDir + ".initdb"
	if err := os.RemoveAll(tmp); err != nil { // left by an interrupted initdb
		return fmt.Errorf("devpg: %w", err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := r.chown(tmp); err != nil {
		return err
	}

	password, err := randomHex(16)
	if err != nil {
		return err
	}
	// initdb reads the password from a file; make one the server user can
	// read, next to the data dir (whose parent is known to be reachable).
	pwfile, err := os.CreateTemp(filepath.Dir(r.dataDir), filepath.Base(r.dataDir)+".pwfile-*")
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	defer os.Remove(pwfile.Name())
	_, err = io.WriteString(pwfile, password+"\n")
	if cerr := pwfile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("devpg: write password file: %w", err)
	}
	if err := r.chown(pwfile.Name()); err != nil {
		return err
	}

	out, err := r.run(ctx, "initdb",
		"-D", tmp,
		"--encoding=UTF8",
		"--locale=C.UTF-8", // a UTF-8 ctype: pg_trgm and lower() must understand Arabic
		"--auth=scram-sha-256",
		"-U", "postgres",
		"--pwfile="+pwfile.Name(),
		"--no-sync", // development data: no need to wait for the disk
	)
	if err != nil {
		return cmdError("initdb", err, out)
	}
	if err := writeFileAtomic(r.dataDir+".pw", []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("devpg: save password: %w", err)
	}
	// rename(2) replaces DataDir if it exists and is empty.
	if err := os.Rename(tmp, r.dataDir); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	ok = true
	return nil
}

// start starts the server on a free port and waits until it accepts
// connections. It returns the port.
func (r *runner) start(ctx context.Context) (int, error) {
	logPath := r.dataDir + ".log"
	// The server (running as postgres) appends to the log, so it must exist
	// and be the server user's before pg_ctl opens it.
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("devpg: %w", err)
	}
	f.Close()
	if err := r.chown(logPath); err != nil {
		return 0, err
	}

	for attempt := 1; ; attempt++ {
		logStart := fileSize(logPath)
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		opts := append([]string{"-c port=" + strconv.Itoa(port)}, serverOptions...)
		out, err := r.run(ctx, "pg_ctl", "start",
			"-D", r.dataDir,
			"-l", logPath,
			"-w", "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)),
			"-o", strings.Join(opts, " "),
		)
		if err == nil {
			return port, nil
		}
		serverLog := readFrom(logPath, logStart)
		// Another process may have taken the port between freePort and the
		// server binding it: try another one.
		if attempt < startAttempts && strings.Contains(serverLog, "Address already in use") {
			continue
		}
		err = cmdError("pg_ctl start", err, out)
		if serverLog = strings.TrimSpace(serverLog); serverLog != "" {
			err = fmt.Errorf("%w\nserver log (%s):\n%s", err, logPath, lastLines(serverLog, 20))
		}
		return 0, err
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devpg: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns 2n hex digits from crypto/rand.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("devpg: random password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeFileAtomic writes data to path via a temporary file and a rename, so
// readers see the old content or the new, never a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// fileSize returns the size of path, or 0 if it cannot be stat'ed.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns the content of path from offset on (best effort).
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	return string(b)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cmdError describes a failed server program, with its trimmed output.
func cmdError(what string, err error, out []byte) error {
	if msg := strings.TrimSpace(string(out)); msg != "" {
		return fmt.Errorf("devpg: %s: %w: %s", what, err, msg)
	}
	return fmt.Errorf("devpg: %s: %w", what, err)
}
