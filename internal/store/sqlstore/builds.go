package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/containerpub/containerpub/client"
	"github.com/containerpub/containerpub/internal/store"
)

// ClaimDeployment marks the oldest queued deployment as building by
// backendID and returns it; ErrNotFound when none is queued.
func (s *Store) ClaimDeployment(
	ctx context.Context, backendID string, now time.Time,
) (store.Deployment, error) {
	// One statement picks and marks the row. On PostgreSQL the subquery
	// locks the row it picks and skips rows other claimers hold; on SQLite
	// the statement runs alone on the single writer connection.
	//nolint:gosec // G202: SkipLocked is the dialect's fixed clause.
	row := s.write.QueryRowContext(ctx,
		`UPDATE deployments SET status = $1, claimed_by = $2, started_at = $3
		WHERE id = (
			SELECT id FROM deployments WHERE status = $4
			ORDER BY created_at, id LIMIT 1`+s.d.SkipLocked+`
		)
		RETURNING `+deploymentColumns,
		client.DeploymentBuilding, backendID, s.timeArg(now), client.DeploymentQueued)
	d, err := scanDeployment(row)
	if err != nil {
		return store.Deployment{}, readErr("claim deployment", err)
	}
	return d, nil
}

// RequeueDeployments puts deployments building for backendID, or building
// by anyone since before staleBefore, back in the queue, and returns how
// many.
func (s *Store) RequeueDeployments(
	ctx context.Context, backendID string, staleBefore time.Time,
) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`UPDATE deployments SET status = $1, claimed_by = '', started_at = NULL
		WHERE status = $2 AND (claimed_by = $3 OR started_at < $4)`,
		client.DeploymentQueued, client.DeploymentBuilding, backendID, s.timeArg(staleBefore))
	return affected("requeue deployments", res, err)
}

// AppendBuildLog appends text, cleaned by store.CleanText, to a
// deployment's build log; ErrNotFound if the deployment is gone.
func (s *Store) AppendBuildLog(ctx context.Context, id, text string) error {
	if !ValidID(id) {
		return fmt.Errorf("append build log: %w", store.ErrNotFound)
	}
	res, err := s.write.ExecContext(ctx,
		`UPDATE deployments SET build_log = build_log || $2 WHERE id = $1`,
		id, store.CleanText(text))
	return mustAffect("append build log", res, err)
}

// SetDeploymentImage records the built image of a deployment; ErrNotFound
// if the deployment is gone.
func (s *Store) SetDeploymentImage(ctx context.Context, id, imageRef string) error {
	if !ValidID(id) {
		return fmt.Errorf("set deployment image: %w", store.ErrNotFound)
	}
	res, err := s.write.ExecContext(ctx,
		`UPDATE deployments SET image_ref = $2 WHERE id = $1`, id, imageRef)
	return mustAffect("set deployment image", res, err)
}

// FailDeployment marks a deployment failed with the reason and finished at
// now. If its function has no active deployment, and is not being deleted,
// the function's status becomes failed. ErrNotFound if the deployment is
// gone.
func (s *Store) FailDeployment(ctx context.Context, id, reason string, now time.Time) error {
	if !ValidID(id) {
		return fmt.Errorf("fail deployment: %w", store.ErrNotFound)
	}
	return s.inTx(ctx, "fail deployment", func(tx *sql.Tx) error {
		functionID, err := s.lockFunctionOf(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("fail deployment: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE deployments SET status = $2, error = $3, finished_at = $4 WHERE id = $1`,
			id, client.DeploymentFailed, store.CleanText(reason), s.timeArg(now))
		if err != nil {
			return fmt.Errorf("fail deployment: %w", err)
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE functions SET status = $2, updated_at = $3
			WHERE id = $1 AND active_deployment_id IS NULL AND status <> $4`,
			functionID, client.FunctionFailed, s.timeArg(now), client.FunctionDeleting)
		if err != nil {
			return fmt.Errorf("fail deployment: function status: %w", err)
		}
		return nil
	})
}

// lockFunctionOf locks the function of a deployment and returns its id.
// The deployment's function never changes, so reading it before taking
// the lock is safe.
func (s *Store) lockFunctionOf(ctx context.Context, tx *sql.Tx, deploymentID string) (string, error) {
	var functionID string
	err := tx.QueryRowContext(ctx,
		`SELECT function_id FROM deployments WHERE id = $1`, deploymentID).Scan(&functionID)
	if err != nil {
		return "", readErr("find deployment", err)
	}
	if err := s.lockFunction(ctx, tx, functionID); err != nil {
		return "", err
	}
	return functionID, nil
}

// ActivateDeployment makes a deployment its function's active one in one
// transaction: any other active deployment of the function becomes
// inactive, the deployment becomes active, and the function records it
// and becomes active unless it is being deleted. FinishedAt is set to now
// unless already set, so that re-activating an old version keeps the time
// its build ended. ErrNotFound if the function is gone or the deployment
// is not one of its own.
func (s *Store) ActivateDeployment(
	ctx context.Context, functionID, deploymentID string, now time.Time,
) error {
	if !ValidID(functionID) || !ValidID(deploymentID) {
		return fmt.Errorf("activate deployment: %w", store.ErrNotFound)
	}
	return s.inTx(ctx, "activate deployment", func(tx *sql.Tx) error {
		if err := s.lockFunction(ctx, tx, functionID); err != nil {
			return fmt.Errorf("activate deployment: %w", err)
		}
		return s.activateLocked(ctx, tx, functionID, deploymentID, s.timeArg(now))
	})
}

// activateLocked runs the updates of ActivateDeployment; the caller holds
// the function's row lock.
func (s *Store) activateLocked(
	ctx context.Context, tx *sql.Tx, functionID, deploymentID string, now any,
) error {
	res, err := tx.ExecContext(ctx,
		`UPDATE deployments SET status = $3, finished_at = COALESCE(finished_at, $4)
		WHERE id = $1 AND function_id = $2`,
		deploymentID, functionID, client.DeploymentActive, now)
	if err := mustAffect("activate deployment", res, err); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`UPDATE deployments SET status = $3
		WHERE function_id = $1 AND status = $4 AND id <> $2`,
		functionID, deploymentID, client.DeploymentInactive, client.DeploymentActive)
	if err != nil {
		return fmt.Errorf("activate deployment: deactivate others: %w", err)
	}
	_, err = tx.ExecContext(ctx,
		`UPDATE functions SET active_deployment_id = $2, updated_at = $3,
			status = CASE WHEN status = $4 THEN status ELSE $5 END
		WHERE id = $1`,
		functionID, deploymentID, now, client.FunctionDeleting, client.FunctionActive)
	if err != nil {
		return fmt.Errorf("activate deployment: function: %w", err)
	}
	return nil
}
