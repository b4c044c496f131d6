package migrations_test

import (
	"context"
	"testing"
)

// TestReferencesSurviveMigration5 rolls migration 5 back and forward again:
// references already given out are never given out again, in either
// direction (counter table ↔ per-year sequences).
func TestReferencesSurviveMigration5(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, p := migratedProvider(t)
	next := func() string {
		t.Helper()
		var ref string
		if err := pool.QueryRow(ctx, `SELECT reference_next('QS', 2026)`).Scan(&ref); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	next()
	if got := next(); got != "QS-26-0002" {
		t.Fatalf("second reference %s", got)
	}
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	var last int
	if err := pool.QueryRow(ctx, `SELECT last FROM reference_counters WHERE year = 2026`).Scan(&last); err != nil || last != 2 {
		t.Fatalf("after rolling back, counter = %d, %v; want 2", last, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// Down again before any number is taken: the fresh sequence (made with
	// START 3) has given nothing out, so the counter stays at 2.
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT last FROM reference_counters WHERE year = 2026`).Scan(&last); err != nil || last != 2 {
		t.Fatalf("after a second roll back, counter = %d, %v; want 2", last, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "QS-26-0003" {
		t.Fatalf("after migrating again: %s, want QS-26-0003", got)
	}
}
