package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// errBadTime is returned when a stored time cannot be read.
var errBadTime = errors.New("bad stored time")

// parseTime reads a time the way either database hands it back: a
// time.Time from PostgreSQL, text in TimeText's layout from SQLite.
func parseTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		return parseTimeText(v)
	case []byte:
		return parseTimeText(string(v))
	}
	return time.Time{}, fmt.Errorf("%w: unexpected type %T", errBadTime, src)
}

func parseTimeText(s string) (time.Time, error) {
	t, err := time.Parse(timeTextLayout, s)
	if err != nil {
		// Accept any RFC 3339 time too, so rows written by hand in the
		// sqlite3 shell still read.
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %w", errBadTime, s, err)
	}
	return t.UTC(), nil
}

// timeDst scans a NOT NULL timestamp column into *t.
type timeDst struct{ t *time.Time }

func (d timeDst) Scan(src any) error {
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	*d.t = t
	return nil
}

// nullTimeDst scans a nullable timestamp column; NULL leaves *p nil.
type nullTimeDst struct{ p **time.Time }

func (d nullTimeDst) Scan(src any) error {
	if src == nil {
		*d.p = nil
		return nil
	}
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	*d.p = &t
	return nil
}

// jsonDst scans a JSON column into a RawMessage of its own.
type jsonDst struct{ m *json.RawMessage }

func (d jsonDst) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.m = json.RawMessage(emptyJSON)
	case string:
		*d.m = json.RawMessage(v)
	case []byte:
		// The driver may reuse b after Scan returns, so copy it.
		*d.m = append(json.RawMessage(nil), v...)
	default:
		return fmt.Errorf("scan json: unexpected type %T", src)
	}
	return nil
}

// nullStringDst scans a nullable text or UUID column; NULL becomes "".
type nullStringDst struct{ s *string }

func (d nullStringDst) Scan(src any) error {
	var ns sql.NullString
	if err := ns.Scan(src); err != nil {
		return err
	}
	*d.s = ns.String
	return nil
}
