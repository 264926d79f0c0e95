package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// insertArrays inserts rows with one statement taking each column as an
// array. The driver prepares the statement once per connection: its text
// is the same for every batch of a table.
func (s *Store) insertArrays(ctx context.Context, tx *sql.Tx, b batch, rows [][]any) error {
	cols := make([]any, len(b.columns))
	for i, c := range b.columns {
		cols[i] = arrayOf(c.sqlType, rows, i)
	}
	_, err := tx.ExecContext(ctx, b.arraySQL(s.d), cols...)
	return err
}

// arraySQL returns the statement inserting a batch whose columns arrive as
// arrays, one parameter each. Rows whose function_id names no function
// are left out, and rows are inserted in array order, so that ids the
// database assigns follow the order of the batch. UUIDs travel as text:
// the store holds them as strings, which pgx cannot send as a binary uuid
// array, and a failed try costs it more than the text does.
func (b batch) arraySQL(d Dialect) string {
	list := b.names()
	params := make([]string, len(b.columns))
	values := make([]string, len(b.columns))
	for i, c := range b.columns {
		params[i] = "$" + strconv.Itoa(i+1) + d.Cast(arrayType(c.sqlType)+"[]")
		values[i] = c.name
		if arrayType(c.sqlType) != c.sqlType {
			values[i] += d.Cast(c.sqlType)
		}
	}
	return "INSERT INTO " + b.table + " (" + list + ") SELECT " + strings.Join(values, ", ") +
		" FROM unnest(" + strings.Join(params, ", ") + ") WITH ORDINALITY AS v (" + list + ", ord)" +
		" WHERE EXISTS (SELECT 1 FROM functions f WHERE f.id = v.function_id" + d.Cast(typeUUID) + ")" +
		" ORDER BY ord" + b.conflict
}

// arrayType returns the element type of the array that carries a column
// of sqlType.
func arrayType(sqlType string) string {
	if sqlType == typeUUID {
		return typeText
	}
	return sqlType
}

// arrayOf returns column i of rows as a slice of the Go type that a
// column of sqlType holds, with nil values as nil pointers. The driver
// encodes such a slice as one array; a []any would make it look at the
// type of every element. A value of another type leaves the column a
// []any.
func arrayOf(sqlType string, rows [][]any, i int) any {
	switch sqlType {
	case typeUUID, typeText, typeJSON:
		return typedArray[string](rows, i)
	case typeTime:
		return typedArray[time.Time](rows, i)
	case typeDouble:
		return typedArray[float64](rows, i)
	case typeInteger:
		return typedArray[int](rows, i)
	case typeBigint:
		return typedArray[int64](rows, i)
	case typeBoolean:
		return typedArray[bool](rows, i)
	}
	return anyArray(rows, i)
}

// typedArray returns column i of rows as a []T, or as a []*T when a value
// is nil.
func typedArray[T any](rows [][]any, i int) any {
	vals := make([]T, len(rows))
	var nulls []bool
	for r, row := range rows {
		switch v := row[i].(type) {
		case T:
			vals[r] = v
		case nil:
			if nulls == nil {
				nulls = make([]bool, len(rows))
			}
			nulls[r] = true
		default:
			return anyArray(rows, i)
		}
	}
	if nulls == nil {
		return vals
	}
	ptrs := make([]*T, len(rows))
	for r := range vals {
		if !nulls[r] {
			ptrs[r] = &vals[r]
		}
	}
	return ptrs
}

// anyArray returns column i of rows as a []any.
func anyArray(rows [][]any, i int) []any {
	vals := make([]any, len(rows))
	for r, row := range rows {
		vals[r] = row[i]
	}
	return vals
}
