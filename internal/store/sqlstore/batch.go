package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// column is one column of a batch insert.
type column struct {
	name    string
	sqlType string
}

// batch describes an insert of many rows that keeps only the rows whose
// function exists. One of its columns must be function_id.
type batch struct {
	table   string
	columns []column
	// conflict ends the insert, such as an ON CONFLICT clause.
	conflict string
	// ordered batches run the dialect's OrderLock first.
	ordered bool
}

// names returns the column names as a list.
func (b batch) names() string {
	names := make([]string, len(b.columns))
	for i, c := range b.columns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// functionColumn returns the position of function_id among the columns.
func (b batch) functionColumn() int {
	for i, c := range b.columns {
		if c.name == "function_id" {
			return i
		}
	}
	panic("sqlstore: batch of " + b.table + " has no function_id column")
}

// insertBatch inserts rows, each a slice of column values, in one
// transaction, in slice order. Rows whose function does not exist are
// dropped, so that records of a function deleted meanwhile do not fail
// the whole batch. A foreign key violation means a function was deleted
// between the check that it exists and the insert; running the
// transaction again drops that function's rows.
//
// How the rows go in depends on the dialect, but either way no statement
// is parsed anew per batch: a PostgreSQL batch is one statement taking
// arrays, whose text never changes, and a SQLite batch runs statements of
// fixed row counts prepared once.
func (s *Store) insertBatch(ctx context.Context, op string, b batch, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	insert := s.insertArrays
	if !s.d.ArrayBatches {
		// Statements are prepared before the transaction begins: SQLite's
		// one writer connection is taken by it afterwards.
		st, err := s.chunkStatements(ctx, b)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		insert = st.insert
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
		if err := insert(ctx, tx, b, rows); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// chunkSizes are the row counts of the prepared inserts, largest first,
// ending with one. A batch goes in as many of the largest as fit, then of
// the next size, and so on, so that few statements run per batch whatever
// its size. With the widest row (18 columns) the largest has 1152
// parameters, well under SQLite's limit of 32766.
var chunkSizes = []int{64, 16, 4, 1}

// chunkStatements are the prepared statements that insert a batch in
// chunks.
type chunkStatements struct {
	// exists finds a function by id.
	exists *sql.Stmt
	// chunks[i] inserts chunkSizes[i] rows.
	chunks []*sql.Stmt
}

// chunkStatements returns the statements inserting rows of b.
func (s *Store) chunkStatements(ctx context.Context, b batch) (chunkStatements, error) {
	exists, err := s.prepared(ctx, `SELECT 1 FROM functions WHERE id = $1`)
	if err != nil {
		return chunkStatements{}, err
	}
	st := chunkStatements{exists: exists, chunks: make([]*sql.Stmt, len(chunkSizes))}
	for i, n := range chunkSizes {
		chunk, err := s.prepared(ctx, b.valuesSQL(s.d, n)) //nolint:sqlclosecheck // closed by Store.Close
		if err != nil {
			return chunkStatements{}, err
		}
		st.chunks[i] = chunk
	}
	return st, nil
}

// valuesSQL returns the statement inserting n rows given as a VALUES
// list, which SQLite inserts in list order.
func (b batch) valuesSQL(d Dialect, n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + b.names() + ") VALUES ")
	p := 1
	for r := range n {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for i := range b.columns {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(d.BatchParam(p))
			p++
		}
		sb.WriteByte(')')
	}
	sb.WriteString(b.conflict)
	return sb.String()
}

// insert inserts rows in tx, leaving out those whose function does not
// exist. The check holds until commit only where a write transaction
// shuts out every other writer, as in SQLite; elsewhere the foreign key
// catches a function deleted meanwhile.
func (st chunkStatements) insert(ctx context.Context, tx *sql.Tx, b batch, rows [][]any) error {
	fc := b.functionColumn()
	live, err := st.liveFunctions(ctx, tx, fc, rows)
	if err != nil {
		return err
	}
	kept := make([][]any, 0, len(rows))
	for _, row := range rows {
		if live[row[fc].(string)] {
			kept = append(kept, row)
		}
	}
	for i, n := range chunkSizes {
		whole := len(kept) / n * n
		if whole == 0 {
			continue
		}
		if err := execChunks(ctx, tx.StmtContext(ctx, st.chunks[i]), n, kept[:whole]); err != nil {
			return err
		}
		kept = kept[whole:]
	}
	return nil
}

// execChunks runs ins, which inserts n rows, on each n rows in turn, and
// closes it.
func execChunks(ctx context.Context, ins *sql.Stmt, n int, rows [][]any) error {
	defer func() { _ = ins.Close() }() // the prepared statement stays open
	args := make([]any, 0, n*len(rows[0]))
	for ; len(rows) > 0; rows = rows[n:] {
		args = args[:0]
		for _, row := range rows[:n] {
			args = append(args, row...)
		}
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// liveFunctions returns which of the function ids in column fc of rows
// name a function. A batch usually holds the records of a few functions,
// so each is looked up once.
func (st chunkStatements) liveFunctions(
	ctx context.Context, tx *sql.Tx, fc int, rows [][]any,
) (map[string]bool, error) {
	q := tx.StmtContext(ctx, st.exists)
	defer func() { _ = q.Close() }() // the prepared statement stays open
	live := make(map[string]bool)
	for _, row := range rows {
		id := row[fc].(string)
		if _, seen := live[id]; seen {
			continue
		}
		var one int
		err := q.QueryRowContext(ctx, id).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("check function: %w", err)
		}
		live[id] = err == nil
	}
	return live, nil
}

// prepared returns query prepared on the writer, preparing it the first
// time. database/sql prepares it again on any other connection it runs
// on. It must not be called inside a transaction: with SQLite's single
// writer connection, preparing would wait for the transaction to end.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.write.PrepareContext(ctx, query) //nolint:sqlclosecheck // closed by Store.Close
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.stmts == nil {
		s.stmts = make(map[string]*sql.Stmt)
	}
	s.stmts[query] = st
	return st, nil
}
