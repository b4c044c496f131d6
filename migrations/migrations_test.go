package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"tawasul/internal/dbtest"
	"tawasul/internal/postgres"
	"tawasul/internal/tawasul"
	"tawasul/migrations"
)

func TestUpTwiceIsNoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t) // already migrated once by the template
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()

	n, err := migrations.Up(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second Up applied %d migrations, want 0", n)
	}
	p, err := migrations.NewProvider(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pending, err := p.HasPending(ctx); err != nil || pending {
		t.Errorf("HasPending = %v, %v; want false", pending, err)
	}
	var depts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM departments`).Scan(&depts); err != nil || depts != 10 {
		t.Errorf("seeded departments = %d, %v; want 10 (the testdata categories)", depts, err)
	}
}

// Fails when a River upgrade ships a schema version nobody pinned in a new
// goose migration.
func TestRiverSchemaCurrent(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Versions) != 0 {
		t.Errorf("River has %d unapplied schema versions; add a goose migration for them", len(res.Versions))
	}
}

func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A blank database (not from the template) migrated by three "instances" at once.
	pool := dbtest.Pool(t)
	if _, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db := stdlib.OpenDBFromPool(pool)
			defer db.Close()
			_, err := migrations.Up(ctx, db, nil)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Up: %v", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM departments`).Scan(&n); err != nil || n != 10 {
		t.Errorf("departments after concurrent Up = %d, %v; want 10 (each migration applied once)", n, err)
	}
}

// TestDownThenUp undoes every migration, newest first, and applies them
// all again: each Down must really undo its Up, or the second Up fails.
func TestDownThenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, p := migratedProvider(t)
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("after DownTo(0): %d tables left (%v), want none", tables, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// TestDown00012KeepsFollowups: undoing migration 00012 puts the
// follow-ups filed under it back into their submission's body, in order,
// and gives the submissions it opened their 'created' event, so the code of
// before reads them whole.
func TestDown00012KeepsFollowups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, p := migratedProvider(t)
	filing := postgres.InboundBatchFiling{FollowupSince: time.Now().Add(-10 * time.Minute), ReferencePrefix: "QS", Year: 2026,
		Replies: map[string]postgres.BatchReplies{"ar": {New: "جديد {ref}", Detail: "تفصيل {ref}"}}}
	var items []postgres.InboundItem
	for i, body := range []string{"انقطاع المياه", "منذ الصباح", "في حي النسيم"} {
		items = append(items, postgres.InboundItem{Phone: "+966551234567", Language: "ar", SID: fmt.Sprintf("SM%d", i),
			Channel: tawasul.ChannelSMS, Body: body, Kind: tawasul.KindComplaint})
	}
	if _, err := postgres.New(pool).InboundBatch(ctx, items, filing); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 11); err != nil {
		t.Fatalf("down to 11: %v", err)
	}
	var body string
	var created int
	err := pool.QueryRow(ctx, `SELECT body, (SELECT count(*) FROM submission_events e WHERE e.submission_id = s.id AND e.kind = 'created')
		FROM submissions s`).Scan(&body, &created)
	if err != nil || body != "انقطاع المياه\nمنذ الصباح\nفي حي النسيم" || created != 1 {
		t.Errorf("after Down: body %q, %d created events (%v); want the three lines and one", body, created, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// migratedProvider returns a migrated test database and a goose provider
// over it, for tests that move its migrations down and up.
func migratedProvider(t *testing.T) (*pgxpool.Pool, *goose.Provider) {
	t.Helper()
	pool := dbtest.Pool(t)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { db.Close() })
	p, err := migrations.NewProvider(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pool, p
}
