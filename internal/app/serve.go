package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"riverqueue.com/riverui"

	"tawasul/internal/auth"
	"tawasul/internal/config"
	"tawasul/internal/conversation"
	"tawasul/internal/i18n"
	"tawasul/internal/postgres"
	"tawasul/internal/render"
	"tawasul/internal/server"
	"tawasul/internal/tawasul"
	"tawasul/jobs"
	"tawasul/web"
)

func runServe(ctx context.Context, e *Env, args []string) error {
	fs := flagSet(e, "serve [--migrate=true] [--no-workers]",
		"Runs the web server and, unless --no-workers, the River workers in one process.\nStops cleanly on SIGINT or SIGTERM.")
	migrate := fs.Bool("migrate", true, "apply pending migrations at start; with false, refuse to start while any are pending")
	noWorkers := fs.Bool("no-workers", false, "do not work River jobs here (run \"tawasul worker\" elsewhere); jobs are still enqueued")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return serve(ctx, e, *migrate, !*noWorkers, true)
}

func runWorker(ctx context.Context, e *Env, args []string) error {
	fs := flagSet(e, "worker", "Runs the River workers only. Needs the database migrated (`tawasul migrate`).")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return serve(ctx, e, false, true, false)
}

// serve runs the web server and/or the workers until ctx is cancelled, then
// shuts down in order: stop accepting, drain requests, stop River softly,
// close the pool, stop the private cluster.
func serve(ctx context.Context, e *Env, migrate, work, web bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.Stderr)
	if cfg.Twilio.Simulated() && cfg.Twilio.AuthToken == "" {
		// Simulator mode: webhooks are signed with a token made for this run.
		cfg.Twilio.AuthToken = auth.GeneratePassword() + auth.GeneratePassword()
	}
	db, err := openDatabase(ctx, cfg, log, cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer db.Close()

	if migrate {
		n, err := db.migrate(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("applied migrations", "count", n)
		}
	} else if err := db.requireCurrent(ctx); err != nil {
		return err
	}

	store := postgres.New(db.Pool)
	passwords := auth.NewPasswords(nil)
	if web {
		if err := bootstrapAdmin(ctx, e, store, passwords); err != nil {
			return err
		}
	}

	var ln net.Listener
	if web {
		// Listen first: with TAWASUL_ADDR=…:0 the public URL (status
		// callbacks, prompt links) needs the port actually bound.
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
		defer ln.Close()
		if cfg.PublicURLDefaulted {
			cfg.PublicURL = "http://" + ln.Addr().String()
		}
	}

	tw, err := startTwilio(cfg, log, quietLogger(cfg, e.Stderr, "twilio-simulator"))
	if err != nil {
		return err
	}
	defer tw.close()

	riverClient, err := newRiverClient(cfg, db, log, riverLogger(cfg, e.Stderr), work, tw.sender)
	if err != nil {
		return err
	}
	if work {
		if err := riverClient.Start(ctx); err != nil {
			return fmt.Errorf("start river: %w", err)
		}
	}

	var httpSrv *http.Server
	var serveErr chan error
	if web {
		httpSrv, serveErr, err = startHTTP(ctx, e, cfg, ln, db, store, passwords, riverClient, tw, log)
		if err != nil {
			return err
		}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			return err
		}
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if httpSrv != nil {
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			log.Warn("http shutdown", "error", err)
		}
	}
	if work {
		if err := riverClient.Stop(shutdownCtx); err != nil {
			log.Warn("river did not stop softly; cancelling running jobs", "error", err)
			hardCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = riverClient.StopAndCancel(hardCtx)
			cancel()
		}
	}
	log.Info("stopped")
	return nil
}

// newRiverClient builds the process's one River client on the app's pool.
// Without work it is insert-only: it enqueues but never fetches.
func newRiverClient(cfg *config.Config, db *database, log, riverLog *slog.Logger, work bool, sender *jobs.Sender) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	jobs.Register(workers, jobs.Deps{Pool: db.Pool, Logger: log, Sender: sender})
	rc := &river.Config{
		Logger:  riverLog,
		Workers: workers,
	}
	if work {
		rc.Queues = jobs.Queues()
		rc.PeriodicJobs = jobs.PeriodicJobs()
		rc.SoftStopTimeout = cfg.ShutdownTimeout
		rc.JobTimeout = time.Minute
	}
	client, err := river.NewClient(riverpgxv5.New(db.Pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// startHTTP builds the server and starts serving on ln; errors from Serve
// arrive on the returned channel.
func startHTTP(ctx context.Context, e *Env, cfg *config.Config, ln net.Listener, db *database, store *postgres.Store,
	passwords *auth.Passwords, riverClient *river.Client[pgx.Tx], tw *twilioSetup, log *slog.Logger) (*http.Server, chan error, error) {
	catalog, err := i18n.NewCatalog()
	if err != nil {
		return nil, nil, err
	}
	engine, err := render.New(web.Templates, web.Static)
	if err != nil {
		return nil, nil, err
	}
	jobsUI, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(riverClient, nil),
		Logger:                   log.With("component", "riverui"),
		Prefix:                   "/admin/jobs",
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("river ui: %w", err)
	}
	if err := jobsUI.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("river ui: %w", err)
	}
	conv := &conversation.Engine{Pool: db.Pool, Catalog: catalog, FollowupWindow: cfg.FollowupWindow,
		ReferencePrefix: cfg.ReferencePrefix, CallCentre: cfg.CallCentreNumber,
		PublicURL: cfg.PublicURL, PromptTTL: cfg.PromptTTL, River: riverClient, Logger: log}
	srv := server.New(server.Deps{
		Config: cfg, Pool: db.Pool, Store: store, River: riverClient, Catalog: catalog, Render: engine,
		Passwords: passwords, Logger: log, JobsUI: jobsUI, Conversation: conv, Simulator: tw.simulator, Twilio: tw.sender.Twilio,
		MigrationsCurrent: func(ctx context.Context) (bool, error) {
			pending, err := db.pending(ctx)
			return !pending, err
		},
	})
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	fmt.Fprintf(e.Stdout, "Tawasul is listening on http://%s (public URL %s)\n", ln.Addr(), cfg.PublicURL)
	return httpSrv, errc, nil
}

// firstAdminEmail is the account created on an empty database.
const firstAdminEmail = "admin@tawasul.local"

// bootstrapAdmin creates the first admin on an empty database and prints its
// one-time password, which must be changed (tawasul user set-password).
func bootstrapAdmin(ctx context.Context, e *Env, store *postgres.Store, passwords *auth.Passwords) error {
	n, err := store.UserCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw := auth.GeneratePassword()
	hash, err := passwords.Hash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = store.UserInsert(ctx, postgres.UserInsertParams{Email: firstAdminEmail, Name: "Administrator",
		PasswordHash: hash, Roles: []tawasul.Role{tawasul.RoleAdmin}, MustChangePassword: true})
	if tawasul.ErrorCode(err) == tawasul.ECONFLICT {
		return nil // another instance created it first
	}
	if err != nil {
		return err
	}
	_ = store.AuditInsert(ctx, postgres.AuditEntry{Actor: "system", Action: "user.created", Subject: firstAdminEmail,
		Detail: map[string]any{"bootstrap": true}})
	fmt.Fprintf(e.Stdout, "\nFirst administrator created.\n  e-mail:   %s\n  password: %s\n"+
		"Sign in, then set your own password: tawasul user set-password --email %s\n\n", firstAdminEmail, pw, firstAdminEmail)
	return nil
}

// riverLogger logs River at warn level or above: its info lines are chatty.
func riverLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return quietLogger(cfg, w, "river")
}

// quietLogger logs a component at warn level or above: for libraries whose
// info lines are chatty or carry personal data (the simulator logs
// recipients' numbers).
func quietLogger(cfg *config.Config, w io.Writer, component string) *slog.Logger {
	c := *cfg
	c.LogLevel = max(c.LogLevel, slog.LevelWarn)
	return newLogger(&c, w).With("component", component)
}
