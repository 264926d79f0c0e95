package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/store"
)

const functionColumns = `id, name, owner_id, status, active_deployment_id, metadata,
	created_at, updated_at`

func scanFunction(row rowScanner) (store.Function, error) {
	var f store.Function
	err := row.Scan(&f.ID, &f.Name, &f.OwnerID, &f.Status,
		nullStringDst{&f.ActiveDeploymentID}, jsonDst{&f.Metadata},
		timeDst{&f.CreatedAt}, timeDst{&f.UpdatedAt})
	return f, err
}

// CreateFunction inserts f; ErrConflict when the name is taken, ErrNotFound
// when the owner does not exist. An empty Status is stored as new, a zero
// CreatedAt as the current time and a zero UpdatedAt as CreatedAt.
func (s *Store) CreateFunction(ctx context.Context, f store.Function) error {
	if err := checkIDs(f.ID, f.OwnerID); err != nil {
		return fmt.Errorf("create function: %w", err)
	}
	meta, err := jsonArg(f.Metadata)
	if err != nil {
		return fmt.Errorf("create function: metadata: %w", err)
	}
	if f.Status == "" {
		f.Status = client.FunctionNew
	}
	f.CreatedAt = s.orNow(f.CreatedAt)
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO functions (`+functionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.Name, f.OwnerID, f.Status, nullIDArg(f.ActiveDeploymentID), meta,
		s.timeArg(f.CreatedAt), s.timeArg(f.UpdatedAt))
	return s.writeErr("create function", err)
}

// FunctionByID returns the function or ErrNotFound.
func (s *Store) FunctionByID(ctx context.Context, id string) (store.Function, error) {
	if !ValidID(id) {
		return store.Function{}, fmt.Errorf("function by id: %w", store.ErrNotFound)
	}
	f, err := scanFunction(s.read.QueryRowContext(ctx,
		`SELECT `+functionColumns+` FROM functions WHERE id = $1`, id))
	if err != nil {
		return store.Function{}, readErr("function by id", err)
	}
	return f, nil
}

// FunctionByName returns the function or ErrNotFound.
func (s *Store) FunctionByName(ctx context.Context, name string) (store.Function, error) {
	f, err := scanFunction(s.read.QueryRowContext(ctx,
		`SELECT `+functionColumns+` FROM functions WHERE name = $1`, name))
	if err != nil {
		return store.Function{}, readErr("function by name", err)
	}
	return f, nil
}

// ListFunctions returns the functions of an owner ordered by name.
func (s *Store) ListFunctions(ctx context.Context, ownerID string) ([]store.Function, error) {
	if !ValidID(ownerID) {
		return []store.Function{}, nil
	}
	return s.listFunctions(ctx, "list functions",
		`SELECT `+functionColumns+` FROM functions WHERE owner_id = $1 ORDER BY name`, ownerID)
}

// ListAllFunctions returns every function ordered by name.
func (s *Store) ListAllFunctions(ctx context.Context) ([]store.Function, error) {
	return s.listFunctions(ctx, "list all functions",
		`SELECT `+functionColumns+` FROM functions ORDER BY name`)
}

func (s *Store) listFunctions(ctx context.Context, op, query string, args ...any) ([]store.Function, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err below reports a failed read
	fs := []store.Function{}
	for rows.Next() {
		f, err := scanFunction(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return fs, nil
}

// SetFunctionStatus changes a function's status and updated_at;
// ErrNotFound if the function is gone.
func (s *Store) SetFunctionStatus(ctx context.Context, id, status string) error {
	if !ValidID(id) {
		return fmt.Errorf("set function status: %w", store.ErrNotFound)
	}
	res, err := s.write.ExecContext(ctx,
		`UPDATE functions SET status = $2, updated_at = $3 WHERE id = $1`,
		id, status, s.nowArg())
	return mustAffect("set function status", res, err)
}

// DeleteFunction removes a function with its deployments, executions and
// log lines in one transaction; ErrNotFound if it was not there. The
// foreign keys cascade too, but deleting the children by name keeps the
// work visible and independent of SQLite's foreign_keys setting.
func (s *Store) DeleteFunction(ctx context.Context, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("delete function: %w", store.ErrNotFound)
	}
	return s.inTx(ctx, "delete function", func(tx *sql.Tx) error {
		// The function row is locked first, as in every transaction that
		// touches a function and its deployments, so that they cannot
		// deadlock each other.
		if err := s.lockFunction(ctx, tx, id); err != nil {
			return fmt.Errorf("delete function: %w", err)
		}
		for _, table := range []string{"log_lines", "executions", "deployments"} {
			q := `DELETE FROM ` + table + ` WHERE function_id = $1` //nolint:gosec // G202: table is from the list above.
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete function %s: %w", table, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM functions WHERE id = $1`, id)
		return mustAffect("delete function", res, err)
	})
}

// lockFunction locks a function row until tx ends; ErrNotFound if it is
// gone.
func (s *Store) lockFunction(ctx context.Context, tx *sql.Tx, id string) error {
	var got string
	err := tx.QueryRowContext(ctx,
		`SELECT id FROM functions WHERE id = $1`+s.d.LockRow, id).Scan(&got)
	if err != nil {
		return readErr("lock function", err)
	}
	return nil
}
