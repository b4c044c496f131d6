// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, fast: migrations run once into a template database (per
// migrations.Hash) and every test gets a copy of it (pgtestdb). The server is
// TEST_DATABASE_URL when set, else a private cluster started (or reused) by
// devpg in the system temp directory — the same way `make run` does.
package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"tawasul/internal/devpg"
	"tawasul/internal/postgres"
	"tawasul/migrations"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// ServerURL returns the superuser URL of the test server, starting the
// private cluster if needed. It fails the test, with devpg's one-line
// instruction, when no PostgreSQL is available.
func ServerURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			serverURL = u
			return
		}
		c := &devpg.Cluster{DataDir: devpg.TestDataDir()}
		serverURL, _, serverErr = c.Start(context.Background())
	})
	if serverErr != nil {
		t.Fatalf("dbtest: test database server: %v", serverErr)
	}
	return serverURL
}

type migrator struct{}

func (migrator) Hash() (string, error) { return migrations.Hash() }

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	_, err := migrations.Up(ctx, db, nil)
	return err
}

// URL returns the URL of a new, migrated database for this test. The
// database is dropped when the test passes and kept (its URL logged) when it
// fails.
func URL(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName: "pgx", Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: pw,
		Database: "postgres", Options: "sslmode=disable", ForceTerminateConnections: true,
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// Pool returns a pool on a new, migrated database for this test, closed when
// the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.OpenPool(context.Background(), URL(t), 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // registered after pgtestdb's drop, so it runs first
	return pool
}
