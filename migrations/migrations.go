// Package migrations holds Tawasul's database schema: numbered SQL files
// applied in order by goose, and River's own schema applied through
// rivermigrate as Go migration 2. Both are embedded in the binary.
//
// To change the schema, add a new file NNNNN_what_it_does.sql with
// "-- +goose Up" and "-- +goose Down" sections; never edit a shipped one.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS is the embedded SQL migrations.
var FS fs.FS = files

// NewProvider returns a goose provider over db for Tawasul's migrations,
// River's included. It holds a PostgreSQL advisory lock while migrating, so
// several instances starting at once apply each migration exactly once.
func NewProvider(db *sql.DB, logger *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithGoMigrations(riverMigration()),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and returns how many it applied.
// Applying them again is a no-op.
func Up(ctx context.Context, db *sql.DB, logger *slog.Logger) (int, error) {
	p, err := NewProvider(db, logger)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrations: up: %w", err)
	}
	return len(res), nil
}

// Hash identifies this set of migrations: it changes whenever a migration
// file or the pinned River schema version changes. Test helpers key their
// template databases on it.
func Hash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "river:%d\n", riverSchemaVersion)
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}
