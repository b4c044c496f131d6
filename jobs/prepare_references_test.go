package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tawasul/internal/dbtest"
)

// TestPrepareReferences: the job makes the year's and the next year's
// reference sequences, by Riyadh's calendar (22:00 UTC on 31 December is
// already the new year there), and running it again changes nothing.
func TestPrepareReferences(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	w := &PrepareReferencesWorker{pool: pool, now: func() time.Time { return time.Date(2041, 12, 31, 22, 0, 0, 0, time.UTC) }}
	exists := func(seq string) bool {
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, seq).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for range 2 {
		if err := w.Work(ctx, &river.Job[PrepareReferencesArgs]{}); err != nil {
			t.Fatal(err)
		}
	}
	if exists("reference_seq_2041") || !exists("reference_seq_2042") || !exists("reference_seq_2043") {
		t.Errorf("sequences 2041/2042/2043: %v %v %v, want false true true",
			exists("reference_seq_2041"), exists("reference_seq_2042"), exists("reference_seq_2043"))
	}
	var ref string
	if err := pool.QueryRow(ctx, `SELECT reference_next('QS', 2042)`).Scan(&ref); err != nil || ref != "QS-42-0001" {
		t.Errorf("first reference of a prepared year: %q %v", ref, err)
	}
}
