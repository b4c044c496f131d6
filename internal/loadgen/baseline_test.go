package loadgen

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"tawasul/internal/dbtest"
)

// TestBaseline checks that the baseline stores one row per webhook in its
// own schema, and drops the schema when closed.
func TestBaseline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := dbtest.URL(t)
	b, err := StartBaseline(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(t, b.URL, 10)
	rep, err := g.Run(ctx, Load{Concurrency: 4, Requests: 120})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 120 {
		t.Errorf("%d OK of %d, errors %v", rep.OK, rep.Requests, rep.Errors)
	}
	if n, err := b.Rows(ctx); err != nil || n != 120 {
		t.Errorf("baseline rows: %d, %v; want 120", n, err)
	}
	if v, err := b.ServerVersion(ctx); err != nil || v == "" {
		t.Errorf("ServerVersion: %q, %v", v, err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, b.Schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s still exists after Close", b.Schema)
	}
}
