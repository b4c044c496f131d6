package jobs

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"tawasul/internal/dbtest"
)

// A periodic job is queued once while one waits, and again once the last
// one has completed (River keeps completed rows for a day; they must not
// block the next run).
func TestPeriodicJobsRunAgainAfterCompleting(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []river.JobArgs{PurgeSessionsArgs{}, PrepareReferencesArgs{}} {
		first, err := rc.Insert(ctx, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		again, err := rc.Insert(ctx, args, nil)
		if err != nil || !again.UniqueSkippedAsDuplicate {
			t.Errorf("%s queued twice while the first waits (%v)", args.Kind(), err)
		}
		if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, first.Job.ID); err != nil {
			t.Fatal(err)
		}
		next, err := rc.Insert(ctx, args, nil)
		if err != nil || next.UniqueSkippedAsDuplicate {
			t.Errorf("%s not queued after the last run completed (%v)", args.Kind(), err)
		}
	}
}
