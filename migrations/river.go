package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// riverSchemaVersion pins River's schema. A River upgrade that ships a new
// schema version gets a new goose Go migration, not an edit of this one, so
// every database moves through the same steps (TestRiverSchemaCurrent fails
// until that is done).
const riverSchemaVersion = 8

// riverVersion is the goose version number of River's migration.
const riverVersion = 2

// riverMigration applies River's schema up to riverSchemaVersion. River runs
// each of its versions in its own transaction (one of them adds an enum value
// that a later one uses), so this is a non-transactional goose migration.
func riverMigration() *goose.Migration {
	return goose.NewGoMigration(riverVersion,
		&goose.GoFunc{RunDB: riverTo(riverSchemaVersion)},
		&goose.GoFunc{RunDB: riverTo(0)})
}

func riverTo(version int) func(ctx context.Context, db *sql.DB) error {
	return func(ctx context.Context, db *sql.DB) error {
		m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
		if err != nil {
			return fmt.Errorf("river migrate: %w", err)
		}
		dir, target := rivermigrate.DirectionUp, version
		if version == 0 {
			dir, target = rivermigrate.DirectionDown, -1
		}
		if _, err := m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
			return fmt.Errorf("river migrate: %w", err)
		}
		return nil
	}
}
