package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/containerpub/containerpub/internal/store"
)

// defaultLogLimit is the page size of ListLogLines when the query sets
// none.
const defaultLogLimit = 1000

const logLineColumns = `id, function_id, instance_id, stream, time, text`

var logLineBatch = batch{
	table: "log_lines",
	columns: []column{
		{"function_id", typeUUID}, {"instance_id", typeText}, {"stream", typeText},
		{"time", typeTime}, {"text", typeText},
	},
	ordered: true,
}

// InsertLogLines stores a batch of log lines in one transaction, in slice
// order. Lines whose function is gone are dropped; the ID field is
// ignored, the store assigns it. Text passes through store.CleanText.
func (s *Store) InsertLogLines(ctx context.Context, lines []store.LogLine) error {
	rows := make([][]any, 0, len(lines))
	for _, l := range lines {
		if !ValidID(l.FunctionID) {
			continue
		}
		rows = append(rows, []any{
			l.FunctionID, store.CleanText(l.InstanceID), l.Stream,
			s.timeArg(l.Time), store.CleanText(l.Text),
		})
	}
	return s.insertBatch(ctx, "insert log lines", logLineBatch, rows)
}

// ListLogLines returns a function's log lines in ID order.
func (s *Store) ListLogLines(ctx context.Context, q store.LogQuery) ([]store.LogLine, error) {
	lines := []store.LogLine{}
	if !ValidID(q.FunctionID) {
		return lines, nil
	}
	query := `SELECT ` + logLineColumns + ` FROM log_lines WHERE function_id = $1 AND id > $2`
	args := []any{q.FunctionID, q.AfterID}
	if !q.Since.IsZero() {
		args = append(args, s.timeArg(q.Since))
		query += ` AND time >= $` + strconv.Itoa(len(args))
	}
	args = append(args, limitOr(q.Limit, defaultLogLimit))
	order := ` ORDER BY id`
	if q.Tail {
		order = ` ORDER BY id DESC`
	}
	//nolint:gosec // G202: fixed text and placeholder numbers only; values are arguments.
	query += order + ` LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list log lines: %w", err)
	}
	defer func() { _ = rows.Close() }() // rows.Err below reports a failed read
	for rows.Next() {
		var l store.LogLine
		err := rows.Scan(&l.ID, &l.FunctionID, &l.InstanceID, &l.Stream, timeDst{&l.Time}, &l.Text)
		if err != nil {
			return nil, fmt.Errorf("list log lines: %w", err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list log lines: %w", err)
	}
	if q.Tail {
		slices.Reverse(lines)
	}
	return lines, nil
}
