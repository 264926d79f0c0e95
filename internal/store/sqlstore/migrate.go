package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// Migrate brings the schema of db up to date with the migrations in the
// "migrations" directory of fsys, logging each one it applies. name
// names the database in errors and logs; opts add to goose's provider
// options, such as a session locker. The caller serialises concurrent
// migrations of one database.
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, name string,
	logger *slog.Logger, opts ...goose.ProviderOption,
) error {
	dir, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	p, err := goose.NewProvider(dialect, db, dir,
		append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, opts...)...)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	for _, r := range results {
		logger.Info("applied migration", "database", name,
			"version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}
