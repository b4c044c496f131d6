package postgres_test

import (
	"context"
	"testing"

	"tawasul/internal/dbtest"
)

// TestReferenceNext (the SQL function reference_next): references count
// per year from 0001 (a sequence per year, made on first use), keep at
// least four digits and never cut a longer number.
func TestReferenceNext(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	next := func(year int) string {
		t.Helper()
		var ref string
		if err := pool.QueryRow(ctx, `SELECT reference_next('QS', $1)`, year).Scan(&ref); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	if got := next(2026); got != "QS-26-0001" {
		t.Fatalf("first of 2026: %s", got)
	}
	if got := next(2026); got != "QS-26-0002" {
		t.Fatalf("second of 2026: %s", got)
	}
	if got := next(2027); got != "QS-27-0001" {
		t.Fatalf("first of 2027: %s", got)
	}
	if _, err := pool.Exec(ctx, `SELECT setval('reference_seq_2026', 99998)`); err != nil {
		t.Fatal(err)
	}
	if got := next(2026); got != "QS-26-99999" {
		t.Fatalf("five digits: %s", got)
	}
	if got := next(2026); got != "QS-26-100000" {
		t.Fatalf("six digits: %s", got)
	}
	if got := next(2100); got != "QS-00-0001" {
		t.Fatalf("year 2100: %s", got)
	}
}
