package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/containerpub/containerpub/internal/store"
)

// defaultExecutionLimit is the page size of ListExecutions when the query
// sets none.
const defaultExecutionLimit = 100

const executionColumns = `id, function_id, deployment_id, request_id, instance_id,
	method, path, started_at, completed_at, duration_ms, status, http_status,
	cold_start, request_bytes, response_bytes, error, logs, result`

// executionBatch inserts executions. A record whose id is already stored is
// skipped, so a batch whose commit was lost may be sent again.
var executionBatch = batch{
	table: "executions",
	columns: []column{
		{"id", typeUUID}, {"function_id", typeUUID}, {"deployment_id", typeUUID},
		{"request_id", typeText}, {"instance_id", typeText}, {"method", typeText},
		{"path", typeText}, {"started_at", typeTime}, {"completed_at", typeTime},
		{"duration_ms", typeDouble}, {"status", typeText}, {"http_status", typeInteger},
		{"cold_start", typeBoolean}, {"request_bytes", typeBigint},
		{"response_bytes", typeBigint}, {"error", typeText}, {"logs", typeText},
		{"result", typeJSON},
	},
	conflict: " ON CONFLICT (id) DO NOTHING",
}

func scanExecution(row rowScanner) (store.Execution, error) {
	var e store.Execution
	err := row.Scan(&e.ID, &e.FunctionID, nullStringDst{&e.DeploymentID},
		&e.RequestID, &e.InstanceID, &e.Method, &e.Path, timeDst{&e.StartedAt},
		nullTimeDst{&e.CompletedAt}, &e.DurationMS, &e.Status, &e.HTTPStatus,
		&e.ColdStart, &e.RequestBytes, &e.ResponseBytes, &e.Error, &e.Logs,
		jsonDst{&e.Result})
	return e, err
}

// InsertExecutions stores a batch of execution records in one
// transaction. A record whose function is gone is dropped, and so is one
// whose id is already stored. An empty DeploymentID is stored as NULL, and
// text fields pass through store.CleanText.
//
// TODO(#3): at concurrency 16 a warm call through the backend reaches
// 29-36% of the instance's direct throughput (by machine) against a
// target of 40%,
// and a third of the backend's CPU per call is this insert in SQLite
// (8-13 µs a row: the row, its primary key index and the
// (function_id, started_at, id) index, which alone is a third of it;
// BENCHMARKS.md). Rows that cost less (integer times, a smaller index)
// are what is left toward the target.
func (s *Store) InsertExecutions(ctx context.Context, es []store.Execution) error {
	rows := make([][]any, 0, len(es))
	for i, e := range es {
		r, err := s.executionRow(e)
		if err != nil {
			return fmt.Errorf("insert executions: record %d: %w", i, err)
		}
		if r != nil {
			rows = append(rows, r)
		}
	}
	return s.insertBatch(ctx, "insert executions", executionBatch, rows)
}

// executionRow returns the column values of e, or nil when e belongs to
// no function that could exist.
func (s *Store) executionRow(e store.Execution) ([]any, error) {
	if !ValidID(e.FunctionID) {
		return nil, nil
	}
	if err := checkIDs(e.ID); err != nil {
		return nil, err
	}
	if e.DeploymentID != "" {
		if err := checkIDs(e.DeploymentID); err != nil {
			return nil, err
		}
	}
	result, err := jsonArg(e.Result)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	// Request ids, paths and output come from outside; clean them so
	// that one bad byte cannot fail the batch on PostgreSQL.
	clean := store.CleanText
	return []any{
		e.ID, e.FunctionID, nullIDArg(e.DeploymentID), clean(e.RequestID),
		clean(e.InstanceID), clean(e.Method), clean(e.Path), s.timeArg(e.StartedAt),
		s.nullTimeArg(e.CompletedAt), e.DurationMS, e.Status, e.HTTPStatus,
		e.ColdStart, e.RequestBytes, e.ResponseBytes, clean(e.Error),
		clean(e.Logs), result,
	}, nil
}

// ExecutionByID returns the execution or ErrNotFound.
func (s *Store) ExecutionByID(ctx context.Context, id string) (store.Execution, error) {
	if !ValidID(id) {
		return store.Execution{}, fmt.Errorf("execution by id: %w", store.ErrNotFound)
	}
	e, err := scanExecution(s.read.QueryRowContext(ctx,
		`SELECT `+executionColumns+` FROM executions WHERE id = $1`, id))
	if err != nil {
		return store.Execution{}, readErr("execution by id", err)
	}
	return e, nil
}

// ListExecutions returns a function's executions newest first, ties broken
// by id so that pages never repeat or skip a row.
func (s *Store) ListExecutions(ctx context.Context, q store.ExecutionQuery) ([]store.Execution, error) {
	es := []store.Execution{}
	if !ValidID(q.FunctionID) {
		return es, nil
	}
	query := `SELECT ` + executionColumns + ` FROM executions WHERE function_id = $1`
	args := []any{q.FunctionID}
	if !q.Before.IsZero() {
		args = append(args, s.timeArg(q.Before))
		query += ` AND started_at < $` + strconv.Itoa(len(args))
	}
	args = append(args, limitOr(q.Limit, defaultExecutionLimit))
	//nolint:gosec // G202: fixed text and placeholder numbers only; values are arguments.
	query += ` ORDER BY started_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	defer func() { _ = rows.Close() }() // rows.Err below reports a failed read
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return es, nil
}

// limitOr returns limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}
