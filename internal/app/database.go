package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"tawasul/internal/config"
	"tawasul/internal/devpg"
	"tawasul/internal/postgres"
	"tawasul/migrations"
)

// database is an open pool plus whatever must happen when it is closed.
type database struct {
	Pool    *pgxpool.Pool
	cluster *devpg.Cluster // the private cluster, when DATABASE_URL is unset
	owner   bool           // this process started or adopted the cluster: stop it on Close
	log     *slog.Logger
}

// devCluster is the private cluster kept in the data directory.
func devCluster(cfg *config.Config, log *slog.Logger) *devpg.Cluster {
	return &devpg.Cluster{DataDir: filepath.Join(cfg.DataDir, "pg"), Logger: log}
}

// openDatabase connects to DATABASE_URL, or — when it is unset — starts (or
// reuses) the private cluster in TAWASUL_DATA_DIR. A cluster left running by
// a crashed process is adopted; one owned by a live process is shared and
// left running.
func openDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger, maxConns int32) (*database, error) {
	d := &database{log: log}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		d.cluster = devCluster(cfg, log)
		var started bool
		var err error
		dsn, started, err = d.cluster.Start(ctx)
		if err != nil {
			return nil, err
		}
		d.owner, err = d.cluster.Adopt()
		if err != nil {
			return nil, err
		}
		log.Info("private PostgreSQL", "data_dir", d.cluster.DataDir, "started", started, "owner", d.owner)
	}
	pool, err := postgres.OpenPool(ctx, dsn, maxConns)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.Pool = pool
	return d, nil
}

// Close closes the pool and stops the private cluster if this process owns it.
func (d *database) Close() {
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.cluster != nil && d.owner {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.cluster.Stop(ctx); err != nil {
			d.log.Error("stop private PostgreSQL", "error", err)
		}
		_ = d.cluster.Release()
	}
}

// migrate applies pending migrations.
func (d *database) migrate(ctx context.Context) (int, error) {
	db := stdlib.OpenDBFromPool(d.Pool)
	defer db.Close()
	return migrations.Up(ctx, db, d.log)
}

// pending reports whether migrations are pending.
func (d *database) pending(ctx context.Context) (bool, error) {
	db := stdlib.OpenDBFromPool(d.Pool)
	defer db.Close()
	p, err := migrations.NewProvider(db, nil)
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// requireCurrent returns a clear error when migrations are pending.
func (d *database) requireCurrent(ctx context.Context) error {
	pending, err := d.pending(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if pending {
		return fmt.Errorf("the database has pending migrations: run `tawasul migrate` (or start with --migrate=true)")
	}
	return nil
}
