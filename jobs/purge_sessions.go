package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"tawasul/internal/postgres"
)

// PurgeSessionsArgs asks for expired web sessions to be deleted.
type PurgeSessionsArgs struct{}

// Kind is stable: queued rows store it.
func (PurgeSessionsArgs) Kind() string { return "purge_sessions" }

// InsertOpts puts the job on the maintenance queue, once at a time (see
// periodicUnique).
func (PurgeSessionsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: periodicUnique}
}

// PurgeSessionsWorker deletes sessions whose expiry has passed (the session
// store's own cleanup goroutine is off; this job replaces it).
type PurgeSessionsWorker struct {
	river.WorkerDefaults[PurgeSessionsArgs]
	pool *pgxpool.Pool
}

// Work deletes expired sessions, and status callbacks held for a day for a
// SID no message of ours ever carried.
func (w *PurgeSessionsWorker) Work(ctx context.Context, job *river.Job[PurgeSessionsArgs]) error {
	if _, err := w.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < now()`); err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	if _, err := postgres.New(w.pool).MessageStatusEarlyPurge(ctx, time.Now().Add(-24*time.Hour)); err != nil {
		return err
	}
	return nil
}
