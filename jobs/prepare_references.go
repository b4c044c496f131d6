package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
)

// PrepareReferencesArgs asks for this year's and next year's reference
// sequences to exist, so that no submission has to create one.
type PrepareReferencesArgs struct{}

// Kind is stable: queued rows store it.
func (PrepareReferencesArgs) Kind() string { return "prepare_references" }

// InsertOpts puts the job on the maintenance queue, once at a time (see
// periodicUnique).
func (PrepareReferencesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: periodicUnique}
}

// PrepareReferencesWorker makes the reference sequences of the current year
// and the next (in Riyadh) ahead of their first use.
type PrepareReferencesWorker struct {
	river.WorkerDefaults[PrepareReferencesArgs]
	pool *pgxpool.Pool
	now  func() time.Time // nil: time.Now
}

// Work prepares this year's and next year's sequences.
func (w *PrepareReferencesWorker) Work(ctx context.Context, job *river.Job[PrepareReferencesArgs]) error {
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	year := now().In(i18n.Riyadh).Year()
	st := postgres.New(w.pool)
	for _, y := range []int{year, year + 1} {
		if err := st.ReferencePrepare(ctx, y); err != nil {
			return err
		}
	}
	return nil
}
