package sqlstore

import "time"

// Dialect holds what differs between the SQL databases the store runs on.
// Every statement is written once with $1-style placeholders, which both
// PostgreSQL and SQLite accept.
type Dialect struct {
	// Name names the database in logs and errors, such as "postgres".
	Name string
	// LockRow ends a SELECT whose rows must stay locked until the
	// transaction ends, such as " FOR UPDATE". SQLite leaves it empty: a
	// write transaction there already excludes every other writer.
	LockRow string
	// SkipLocked ends the SELECT that picks a queued deployment, such as
	// " FOR UPDATE SKIP LOCKED", so that concurrent claimers pass over rows
	// another claimer holds instead of waiting for them.
	SkipLocked string
	// OrderLock, when set, is a statement run first in every transaction
	// that inserts log lines. It must hold until commit a lock that all
	// such transactions take, so that lines become visible in the order of
	// their ids and a reader following with LogQuery.AfterID skips none.
	// PostgreSQL needs it because sequence values are handed out before
	// commit; SQLite lets one writer in at a time anyway.
	OrderLock string
	// ArrayBatches says the database takes arrays as parameters, as
	// PostgreSQL does. A batch of records then goes in as one statement
	// taking a column per array; otherwise as statements of fixed row
	// counts, prepared once per store.
	ArrayBatches bool
	// BatchParam returns the placeholder of the nth parameter, from 1, of
	// a batch insert of fixed row count, where each parameter appears once
	// and in order. SQLite wants a bare "?" there: binding looks up the
	// name of every "$n" in a list, which on a statement of a thousand
	// parameters costs more than the insert itself.
	BatchParam func(n int) string
	// Cast returns the suffix that gives a placeholder or a value a type,
	// such as "::uuid" for "uuid" or "::text[]" for "text[]". Batches of
	// arrays need it to say what the arrays hold; SQLite returns "".
	Cast func(sqlType string) string
	// Time converts a UTC time, already cut to microseconds, to the value
	// bound for a timestamp column.
	Time func(t time.Time) any
	// IsUniqueViolation reports whether err says a unique or primary key
	// constraint was broken.
	IsUniqueViolation func(err error) bool
	// IsForeignKeyViolation reports whether err says a foreign key
	// constraint was broken.
	IsForeignKeyViolation func(err error) bool
	// IsRetryable reports whether a transaction that failed with err may
	// succeed when run again unchanged, as after a deadlock.
	IsRetryable func(err error) bool
}

// SQL types named in Dialect.Cast calls.
const (
	typeUUID    = "uuid"
	typeText    = "text"
	typeTime    = "timestamptz"
	typeJSON    = "jsonb"
	typeDouble  = "double precision"
	typeInteger = "integer"
	typeBigint  = "bigint"
	typeBoolean = "boolean"
)

// timeTextLayout is the layout of times kept as text: fixed width, UTC,
// microseconds.
const timeTextLayout = "2006-01-02T15:04:05.000000Z"

// TimeText formats t for databases that keep times as text. The layout has
// a fixed width and UTC only, so text order is time order and comparisons
// in SQL need no date functions.
//
// Every record stored carries a time or two, so the layout is written out
// by hand: time.Format, which reads its layout anew on every call, cost
// more than the rest of preparing a log line's row.
func TimeText(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		// Out of the fixed width; Format knows how such years look.
		return t.Format(timeTextLayout)
	}
	hour, minute, sec := t.Clock()
	var b [len(timeTextLayout)]byte
	putDigits(b[0:4], year)
	b[4] = '-'
	putDigits(b[5:7], int(month))
	b[7] = '-'
	putDigits(b[8:10], day)
	b[10] = 'T'
	putDigits(b[11:13], hour)
	b[13] = ':'
	putDigits(b[14:16], minute)
	b[16] = ':'
	putDigits(b[17:19], sec)
	b[19] = '.'
	putDigits(b[20:26], t.Nanosecond()/int(time.Microsecond))
	b[26] = 'Z'
	return string(b[:])
}

// putDigits writes the last len(b) decimal digits of n, n not negative,
// into b, padded with zeros.
func putDigits(b []byte, n int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}
