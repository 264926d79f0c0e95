package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// batchRows is how many rows one INSERT carries. With the widest row (18
// columns) that is 9000 parameters, well under the limits of SQLite
// (32766) and PostgreSQL (65535), while few enough round trips remain for
// a batch of a thousand.
const batchRows = 500

// column is one column of a batch insert.
type column struct {
	name    string
	sqlType string
}

// batch describes an INSERT of many rows that keeps only the rows whose
// function exists.
type batch struct {
	table   string
	columns []column
	// suffix ends the statement, such as an ON CONFLICT clause.
	suffix string
	// ordered batches run the dialect's OrderLock first.
	ordered bool
}

// insertSQL returns the statement inserting n rows. The rows arrive as a
// VALUES list named v, and only those whose function_id names an existing
// function are inserted, so that records of a function deleted meanwhile
// are dropped rather than failing the whole batch. Each row carries its
// position as ord, and rows are inserted in that order, so that ids the
// database assigns follow the order of the batch.
func (b batch) insertSQL(d Dialect, n int) string {
	names := make([]string, len(b.columns))
	for i, c := range b.columns {
		names[i] = c.name
	}
	list := strings.Join(names, ", ")

	var sb strings.Builder
	sb.WriteString("WITH v (" + list + ", ord) AS (VALUES ")
	p := 1
	for r := range n {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for _, c := range b.columns {
			sb.WriteString(d.BatchParam(p))
			// The first row's types decide the column types of the list.
			if r == 0 {
				sb.WriteString(d.Cast(c.sqlType))
			}
			sb.WriteString(", ")
			p++
		}
		sb.WriteString(strconv.Itoa(r) + ")")
	}
	sb.WriteString(") INSERT INTO " + b.table + " (" + list + ") SELECT " + list +
		" FROM v WHERE EXISTS (SELECT 1 FROM functions f WHERE f.id = v.function_id)" +
		" ORDER BY ord")
	sb.WriteString(b.suffix)
	return sb.String()
}

// insertBatch inserts rows, each a slice of column values, in one
// transaction. A foreign key violation means a function was deleted
// between the EXISTS check and the insert; running the transaction again
// drops that function's rows.
func (s *Store) insertBatch(ctx context.Context, op string, b batch, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	retryable := func(err error) bool {
		return s.d.IsRetryable(err) || s.d.IsForeignKeyViolation(err)
	}
	return s.retryTx(ctx, op, retryable, func(tx *sql.Tx) error {
		if b.ordered && s.d.OrderLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.OrderLock); err != nil {
				return fmt.Errorf("%s: order lock: %w", op, err)
			}
		}
		for start := 0; start < len(rows); start += batchRows {
			chunk := rows[start:min(start+batchRows, len(rows))]
			if err := s.insertChunk(ctx, tx, b, chunk); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		return nil
	})
}

func (s *Store) insertChunk(ctx context.Context, tx *sql.Tx, b batch, rows [][]any) error {
	args := make([]any, 0, len(rows)*len(b.columns))
	for _, r := range rows {
		args = append(args, r...)
	}
	_, err := tx.ExecContext(ctx, b.insertSQL(s.d, len(rows)), args...)
	return err
}
