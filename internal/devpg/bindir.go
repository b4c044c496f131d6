package devpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoBinaries is returned (possibly wrapped; test with errors.Is) when the
// PostgreSQL server binaries (initdb, pg_ctl, postgres) cannot be found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set DATABASE_URL")

// serverBinaries are the programs a bin dir must contain to be usable.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// debianPattern matches the per-version bin dirs of Debian's postgresql-common.
const debianPattern = "/usr/lib/postgresql/*/bin"

// FindBinDir returns the directory holding initdb, pg_ctl and postgres. It
// tries, in order:
//
//  1. $PG_BINDIR, when set (and nothing else: a wrong PG_BINDIR is an error);
//  2. `pg_config --bindir`, when pg_config is on PATH;
//  3. the newest /usr/lib/postgresql/<version>/bin (versions compared
//     numerically, so 16 beats 15 beats 9.6);
//  4. the directory of pg_ctl found on PATH (symlinks resolved if needed).
//
// A candidate is accepted only if it contains all three programs. When none
// is found the error wraps ErrNoBinaries.
func FindBinDir() (string, error) {
	if dir := os.Getenv("PG_BINDIR"); dir != "" {
		if hasServerBinaries(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("PG_BINDIR=%s does not contain %s: %w", dir, strings.Join(serverBinaries, ", "), ErrNoBinaries)
	}
	if dir := pgConfigBinDir(); dir != "" && hasServerBinaries(dir) {
		return dir, nil
	}
	dirs, _ := filepath.Glob(debianPattern) // the pattern is valid, so no error
	if dir := newestVersionDir(dirs); dir != "" {
		return dir, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if dir := filepath.Dir(p); hasServerBinaries(dir) {
			return dir, nil
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if dir := filepath.Dir(real); hasServerBinaries(dir) {
				return dir, nil
			}
		}
	}
	return "", ErrNoBinaries
}

// pgConfigBinDir returns the output of `pg_config --bindir`, or "" when
// pg_config is not on PATH or fails.
func pgConfigBinDir() string {
	p, err := exec.LookPath("pg_config")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--bindir").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// newestVersionDir returns the dir with the highest version among paths of
// the form <root>/<version>/bin that contain the server binaries, or "".
func newestVersionDir(dirs []string) string {
	type cand struct {
		dir string
		ver []int
	}
	var cands []cand
	for _, d := range dirs {
		ver, ok := parseVersion(filepath.Base(filepath.Dir(d)))
		if ok && hasServerBinaries(d) {
			cands = append(cands, cand{d, ver})
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return slices.MaxFunc(cands, func(a, b cand) int { return slices.Compare(a.ver, b.ver) }).dir
}

// parseVersion parses "16" or "9.6" into its numeric components.
func parseVersion(s string) ([]int, bool) {
	var ver []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		ver = append(ver, n)
	}
	return ver, true
}

// hasServerBinaries reports whether dir contains executable initdb, pg_ctl
// and postgres.
func hasServerBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
