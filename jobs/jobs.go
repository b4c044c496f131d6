// Package jobs holds Tawasul's River job kinds: each file defines one job's
// args (IDs only — never personal data or message bodies) and its worker.
// Register adds every worker; Queues and PeriodicJobs configure the client.
//
// Job list (kind → file):
//   - send_message: send_message.go — sends one outbound SMS/WhatsApp message
//     through Twilio, at most once (QueueMessage enqueues it).
//   - purge_sessions: purge_sessions.go — deletes expired web sessions and
//     held status callbacks hourly.
//   - prepare_references: prepare_references.go — makes this year's and
//     next year's reference sequences daily, ahead of their first use.
package jobs

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queue names, one per kind of work, so a slow queue cannot starve another.
const (
	QueueDefault     = river.QueueDefault
	QueueMessages    = "messages"    // outbound SMS / WhatsApp
	QueueRouting     = "routing"     // submission routing to departments
	QueueMaintenance = "maintenance" // clean-ups
)

// Deps are what workers need.
type Deps struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	Sender *Sender // outbound messages; nil in processes that only enqueue
}

// Register adds every worker to workers.
func Register(workers *river.Workers, d Deps) {
	river.AddWorker(workers, &PurgeSessionsWorker{pool: d.Pool})
	river.AddWorker(workers, &PrepareReferencesWorker{pool: d.Pool})
	river.AddWorker(workers, &SendMessageWorker{pool: d.Pool, sender: d.Sender, log: d.Logger})
}

// Queues returns the queue configuration for a client that works jobs.
func Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{
		QueueDefault:     {MaxWorkers: 4},
		QueueMessages:    {MaxWorkers: 8},
		QueueRouting:     {MaxWorkers: 4},
		QueueMaintenance: {MaxWorkers: 1},
	}
}

// periodicUnique keeps a periodic job from being queued again while one is
// waiting or running. River's default unique states also count completed
// jobs, which it keeps for a day: with those, an hourly job would be
// skipped as a duplicate until yesterday's row was cleaned away.
var periodicUnique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}}

// PeriodicJobs returns the jobs River's leader schedules.
func PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PurgeSessionsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PrepareReferencesArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
}
