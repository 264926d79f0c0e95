package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/store"
	"github.com/google/uuid"
)

const deploymentColumns = `id, function_id, version, status, runtime, source_hash,
	archive_key, image_ref, config, build_log, error, claimed_by, created_at,
	started_at, finished_at`

func scanDeployment(row rowScanner) (store.Deployment, error) {
	var d store.Deployment
	err := row.Scan(&d.ID, &d.FunctionID, &d.Version, &d.Status, &d.Runtime,
		&d.SourceHash, &d.ArchiveKey, &d.ImageRef, jsonDst{&d.Config},
		&d.BuildLog, &d.Error, &d.ClaimedBy, timeDst{&d.CreatedAt},
		nullTimeDst{&d.StartedAt}, nullTimeDst{&d.FinishedAt})
	return d, err
}

// CreateDeployment inserts d with the next version number of its function
// and returns the stored row; ErrNotFound when the function does not
// exist. An empty ID is filled with a new UUID, an empty Status with
// queued and a zero CreatedAt with the current time.
func (s *Store) CreateDeployment(ctx context.Context, d store.Deployment) (store.Deployment, error) {
	d, err := s.newDeployment(d)
	if err != nil {
		return store.Deployment{}, fmt.Errorf("create deployment: %w", err)
	}
	cfg, err := jsonArg(d.Config)
	if err != nil {
		return store.Deployment{}, fmt.Errorf("create deployment: config: %w", err)
	}
	err = s.inTx(ctx, "create deployment", func(tx *sql.Tx) error {
		// Holding the function's row lock makes the next version number
		// ours alone until commit; without it two callers could read the
		// same maximum and one would break the unique (function, version).
		if err := s.lockFunction(ctx, tx, d.FunctionID); err != nil {
			return fmt.Errorf("create deployment: %w", err)
		}
		err := tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(version), 0) + 1 FROM deployments WHERE function_id = $1`,
			d.FunctionID).Scan(&d.Version)
		if err != nil {
			return fmt.Errorf("create deployment: next version: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deployments (`+deploymentColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			d.ID, d.FunctionID, d.Version, d.Status, d.Runtime, d.SourceHash,
			d.ArchiveKey, d.ImageRef, cfg, d.BuildLog, d.Error, d.ClaimedBy,
			s.timeArg(d.CreatedAt), s.nullTimeArg(d.StartedAt), s.nullTimeArg(d.FinishedAt))
		return s.writeErr("create deployment", err)
	})
	if err != nil {
		return store.Deployment{}, err
	}
	return d, nil
}

// newDeployment fills the defaults of a deployment about to be inserted
// and puts it in the form it will be read back in.
func (s *Store) newDeployment(d store.Deployment) (store.Deployment, error) {
	if d.ID == "" {
		d.ID = uuid.NewString()
	}
	if err := checkIDs(d.ID); err != nil {
		return d, err
	}
	if !ValidID(d.FunctionID) {
		return d, fmt.Errorf("function %q: %w", d.FunctionID, store.ErrNotFound)
	}
	if d.Status == "" {
		d.Status = client.DeploymentQueued
	}
	if len(d.Config) == 0 {
		d.Config = []byte(emptyJSON)
	}
	d.CreatedAt = stamp(s.orNow(d.CreatedAt))
	d.StartedAt = stampPtr(d.StartedAt)
	d.FinishedAt = stampPtr(d.FinishedAt)
	return d, nil
}

func stampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	st := stamp(*t)
	return &st
}

// DeploymentByID returns the deployment or ErrNotFound.
func (s *Store) DeploymentByID(ctx context.Context, id string) (store.Deployment, error) {
	if !ValidID(id) {
		return store.Deployment{}, fmt.Errorf("deployment by id: %w", store.ErrNotFound)
	}
	d, err := scanDeployment(s.read.QueryRowContext(ctx,
		`SELECT `+deploymentColumns+` FROM deployments WHERE id = $1`, id))
	if err != nil {
		return store.Deployment{}, readErr("deployment by id", err)
	}
	return d, nil
}

// DeploymentByVersion returns a function's deployment by version number
// or ErrNotFound.
func (s *Store) DeploymentByVersion(
	ctx context.Context, functionID string, version int,
) (store.Deployment, error) {
	if !ValidID(functionID) {
		return store.Deployment{}, fmt.Errorf("deployment by version: %w", store.ErrNotFound)
	}
	d, err := scanDeployment(s.read.QueryRowContext(ctx,
		`SELECT `+deploymentColumns+` FROM deployments
		WHERE function_id = $1 AND version = $2`, functionID, version))
	if err != nil {
		return store.Deployment{}, readErr("deployment by version", err)
	}
	return d, nil
}

// ListDeployments returns a function's deployments, newest first.
func (s *Store) ListDeployments(ctx context.Context, functionID string) ([]store.Deployment, error) {
	ds := []store.Deployment{}
	if !ValidID(functionID) {
		return ds, nil
	}
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+deploymentColumns+` FROM deployments
		WHERE function_id = $1 ORDER BY version DESC`, functionID)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	defer func() { _ = rows.Close() }() // rows.Err below reports a failed read
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return ds, nil
}
