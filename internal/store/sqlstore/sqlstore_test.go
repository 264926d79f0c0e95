package sqlstore

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"canonical", "0b7c6c57-4a43-4f2e-9a4b-1d2f0c8e9a10", true},
		{"upper", "0B7C6C57-4A43-4F2E-9A4B-1D2F0C8E9A10", false},
		{"braces", "{0b7c6c57-4a43-4f2e-9a4b-1d2f0c8e9a10}", false},
		{"no_hyphens", "0b7c6c574a434f2e9a4b1d2f0c8e9a10", false},
		{"urn", "urn:uuid:0b7c6c57-4a43-4f2e-9a4b-1d2f0c8e9a10", false},
		{"empty", "", false},
		{"name", "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// FuzzValidID checks that ValidID accepts exactly the ids PostgreSQL would
// hand back unchanged: those that parse as UUIDs and print as themselves.
func FuzzValidID(f *testing.F) {
	f.Add("0b7c6c57-4a43-4f2e-9a4b-1d2f0c8e9a10")
	f.Add("0B7C6C57-4A43-4F2E-9A4B-1D2F0C8E9A10")
	f.Add("{0b7c6c57-4a43-4f2e-9a4b-1d2f0c8e9a10}")
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		u, err := uuid.Parse(id)
		want := err == nil && u.String() == id
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
		if ValidID(id) && (len(id) != 36 || strings.ToLower(id) != id) {
			t.Errorf("ValidID(%q) accepted a non-canonical spelling", id)
		}
	})
}

func TestTimeText(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"zone_and_nanos", time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)),
			"2025-06-01T11:00:00.123456Z"},
		{"whole_second", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "2025-01-02T03:04:05.000000Z"},
		{"zero", time.Time{}, "0001-01-01T00:00:00.000000Z"},
		{"last", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TimeText(tt.in)
			if got != tt.want {
				t.Errorf("TimeText(%v) = %q, want %q", tt.in, got, tt.want)
			}
			back, err := parseTime(got)
			if err != nil || !back.Equal(tt.in.Truncate(time.Microsecond)) {
				t.Errorf("parseTime(%q) = %v, %v; want %v", got, back, err, tt.in)
			}
		})
	}
}

// FuzzTimeText checks that text order is time order and that every time
// reads back as itself cut to microseconds, for the years SQLite keeps.
func FuzzTimeText(f *testing.F) {
	f.Add(int64(0), int64(1))
	f.Add(int64(-62135596800), int64(253402300799))
	f.Add(int64(1700000000), int64(1700000000))
	f.Add(int64(-62135596801), int64(253402300800))
	f.Fuzz(func(t *testing.T, a, b int64) {
		for _, sec := range []int64{a, b} {
			tm := time.Unix(sec, sec%1e9)
			if got, want := TimeText(tm), tm.UTC().Format(timeTextLayout); got != want {
				t.Errorf("TimeText(%v) = %q, want %q as time.Format writes it", tm, got, want)
			}
		}
		// Keep to years 1 through 9999, where the layout has fixed width.
		const lo, hi = -62135596800, 253402300799
		if a < lo || a > hi || b < lo || b > hi {
			return
		}
		ta, tb := time.Unix(a, a%1e9).UTC(), time.Unix(b, b%1e9).UTC()
		sa, sb := TimeText(ta), TimeText(tb)
		ca, cb := ta.Truncate(time.Microsecond), tb.Truncate(time.Microsecond)
		if (sa < sb) != ca.Before(cb) {
			t.Errorf("TimeText(%v) = %q, TimeText(%v) = %q: text order is not time order", ta, sa, tb, sb)
		}
		back, err := parseTime(sa)
		if err != nil || !back.Equal(ca) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", sa, back, err, ca)
		}
	})
}

// FuzzParseTime checks that stored text of any shape reads as a UTC time
// or an error, never a panic.
func FuzzParseTime(f *testing.F) {
	f.Add("2025-06-01T11:00:00.123456Z")
	f.Add("2025-06-01T13:00:00+02:00")
	f.Add("not a time")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		if err == nil && got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, want a UTC time", s, got)
		}
	})
}

func TestBatchSQL(t *testing.T) {
	b := batch{
		table:    "t",
		columns:  []column{{"id", typeUUID}, {"function_id", typeUUID}, {"n", typeInteger}},
		conflict: " ON CONFLICT DO NOTHING",
	}
	numbered := Dialect{
		BatchParam: func(n int) string { return "$" + strconv.Itoa(n) },
		Cast:       func(t string) string { return "::" + t },
	}
	bare := Dialect{
		BatchParam: func(int) string { return "?" },
		Cast:       func(string) string { return "" },
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"values_one", b.valuesSQL(bare, 1),
			"INSERT INTO t (id, function_id, n) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"},
		{"values_two", b.valuesSQL(bare, 2),
			"INSERT INTO t (id, function_id, n) VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT DO NOTHING"},
		{"values_numbered", b.valuesSQL(numbered, 2),
			"INSERT INTO t (id, function_id, n) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT DO NOTHING"},
		{"arrays", b.arraySQL(numbered),
			"INSERT INTO t (id, function_id, n) SELECT id::uuid, function_id::uuid, n" +
				" FROM unnest($1::text[], $2::text[], $3::integer[]) WITH ORDINALITY AS v (id, function_id, n, ord)" +
				" WHERE EXISTS (SELECT 1 FROM functions f WHERE f.id = v.function_id::uuid)" +
				" ORDER BY ord ON CONFLICT DO NOTHING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.got); d != "" {
				t.Errorf("SQL mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestArrayOf(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	rows := [][]any{
		{"a", t0, 1.5, 200, int64(7), true, nil},
		{"b", nil, 2.5, 404, int64(8), false, 3},
	}
	tests := []struct {
		name    string
		sqlType string
		col     int
		want    any
	}{
		{"text", typeText, 0, []string{"a", "b"}},
		{"nullable_time", typeTime, 1, []*time.Time{&t0, nil}},
		{"double", typeDouble, 2, []float64{1.5, 2.5}},
		{"integer", typeInteger, 3, []int{200, 404}},
		{"bigint", typeBigint, 4, []int64{7, 8}},
		{"boolean", typeBoolean, 5, []bool{true, false}},
		// A value of an unexpected type leaves the driver to sort it out.
		{"mixed", typeText, 6, []any{nil, 3}},
		{"unknown_type", "point", 0, []any{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := arrayOf(tt.sqlType, rows, tt.col)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("arrayOf(%q, rows, %d) mismatch (-want +got):\n%s", tt.sqlType, tt.col, d)
			}
		})
	}
}
