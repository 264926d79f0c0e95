package proc

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const statLine = "1265 (dart_cloud_backe) S 1 1265 1 0 -1 4194560 1963 0 0 0 712 95 0 0 20 0 9 0 " +
	"4398 1459539968 9711 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0\n"

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "backend", in: statLine, want: (712 + 95) * tick},
		{name: "name_with_parens_and_spaces", in: "7 (a) b (c)) R 1 7 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1",
			want: 7 * tick},
		{name: "zero", in: "7 (x) S 1 7 1 0 -1 0 0 0 0 0 0 0 0 0", want: 0},
		{name: "no_name", in: "7 x S 1 7", wantErr: true},
		{name: "too_few_fields", in: "7 (x) S 1 7 1 0 -1 0 0 0 0 0 3", wantErr: true},
		{name: "not_a_number", in: "7 (x) S 1 7 1 0 -1 0 0 0 0 0 3x 4", wantErr: true},
		{name: "negative", in: "7 (x) S 1 7 1 0 -1 0 0 0 0 0 -3 4", wantErr: true},
		{name: "overflow", in: "7 (x) S 1 7 1 0 -1 0 0 0 0 0 9223372036854775807 4", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrFormat) {
					t.Errorf("ParseStatCPU(%q) error = %v, want ErrFormat", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseStatCPU(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

const rollup = `55a8c0a1d000-7ffc3a5f2000 ---p 00000000 00:00 0                          [rollup]
Rss:               11220 kB
Pss:                4321 kB
Pss_Anon:           3012 kB
Pss_File:           1309 kB
`

func TestParseKB(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		key     string
		want    int64
		wantErr bool
	}{
		{name: "pss_not_pss_anon", in: rollup, key: "Pss", want: 4321 << 10},
		{name: "rss", in: rollup, key: "Rss", want: 11220 << 10},
		{name: "status", in: "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t   9711 kB\nThreads:\t9\n", key: "VmRSS", want: 9711 << 10},
		{name: "no_newline_at_end", in: "VmRSS: 1 kB", key: "VmRSS", want: 1 << 10},
		{name: "missing", in: "VmPeak: 1 kB\n", key: "VmRSS", wantErr: true},
		{name: "no_unit", in: "VmRSS: 12\n", key: "VmRSS", wantErr: true},
		{name: "other_unit", in: "VmRSS: 12 MB\n", key: "VmRSS", wantErr: true},
		{name: "negative", in: "VmRSS: -12 kB\n", key: "VmRSS", wantErr: true},
		{name: "overflow", in: "VmRSS: 9223372036854775807 kB\n", key: "VmRSS", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKB([]byte(tt.in), tt.key)
			if tt.wantErr {
				if !errors.Is(err, ErrFormat) {
					t.Errorf("ParseKB(%q, %q) error = %v, want ErrFormat", tt.in, tt.key, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseKB(%q, %q) = %d, %v; want %d", tt.in, tt.key, got, err, tt.want)
			}
		})
	}
}

func TestParseLoadAvg(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    [3]float64
		wantErr bool
	}{
		{name: "real", in: "5.36 4.40 3.10 4/630 1435\n", want: [3]float64{5.36, 4.40, 3.10}},
		{name: "idle", in: "0.00 0.01 0.05 1/80 9", want: [3]float64{0, 0.01, 0.05}},
		{name: "short", in: "0.00 0.01", wantErr: true},
		{name: "word", in: "a b c", wantErr: true},
		{name: "infinite", in: "Inf 1 1", wantErr: true},
		{name: "nan", in: "NaN 1 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLoadAvg([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrFormat) {
					t.Errorf("ParseLoadAvg(%q) error = %v, want ErrFormat", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLoadAvg(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLoadAvg(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestReadSelf reads this test process's own files, which must parse.
func TestReadSelf(t *testing.T) {
	pid := os.Getpid()
	before, err := CPUTime(pid)
	if err != nil {
		t.Fatalf("CPUTime: %v", err)
	}
	// Spin until the kernel has counted at least two ticks more.
	deadline := time.Now().Add(10 * time.Second)
	var after time.Duration
	for after < before+2*tick && time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			_ = fmt.Sprint(i)
		}
		if after, err = CPUTime(pid); err != nil {
			t.Fatalf("CPUTime: %v", err)
		}
	}
	if after < before+2*tick {
		t.Errorf("CPUTime went from %v to %v while spinning for 10s, want it to grow", before, after)
	}
	rss, err := RSS(pid)
	if err != nil || rss < 1<<20 {
		t.Errorf("RSS() = %d, %v; want at least 1 MiB", rss, err)
	}
	pss, err := PSS(pid)
	if err != nil || pss <= 0 || pss > rss+(1<<20) {
		t.Errorf("PSS() = %d, %v; want above 0 and about at most RSS %d", pss, err, rss)
	}
	if _, err := LoadAvg(); err != nil {
		t.Errorf("LoadAvg: %v", err)
	}
}

func TestReadMissingProcess(t *testing.T) {
	// Pid numbers stop well below this (pid_max is at most 2^22).
	const pid = 1 << 30
	if _, err := CPUTime(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CPUTime(%d) error = %v, want ErrNotExist", pid, err)
	}
	if _, err := RSS(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RSS(%d) error = %v, want ErrNotExist", pid, err)
	}
	if _, err := PSS(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PSS(%d) error = %v, want ErrNotExist", pid, err)
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte(statLine))
	f.Add([]byte("7 (a) b (c)) R 1 7 1 0 -1 0 0 0 0 0 3 4"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseStatCPU(b)
		if err == nil && (d < 0 || d%tick != 0) {
			t.Errorf("ParseStatCPU(%q) = %v, want a non-negative number of ticks", b, d)
		}
	})
}

func FuzzParseKB(f *testing.F) {
	f.Add([]byte(rollup), "Pss", int64(7))
	f.Add([]byte("VmRSS:\t1 kB\n"), "VmRSS", int64(0))
	f.Fuzz(func(t *testing.T, b []byte, key string, n int64) {
		if v, err := ParseKB(b, key); err == nil && v < 0 {
			t.Errorf("ParseKB(%q, %q) = %d, want >= 0", b, key, v)
		}
		// A well-formed line put first is always found.
		if n < 0 || n > (1<<63-1)>>10 || key == "" || containsSpace(key) {
			return
		}
		line := fmt.Sprintf("%s:\t%d kB\n", key, n)
		if v, err := ParseKB(append([]byte(line), b...), key); err != nil || v != n<<10 {
			t.Errorf("ParseKB(%q + ...) = %d, %v; want %d", line, v, err, n<<10)
		}
	})
}

// containsSpace reports whether a key would split a line differently.
func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0 || r == ':' {
			return true
		}
	}
	return false
}

func FuzzParseLoadAvg(f *testing.F) {
	f.Add([]byte("5.36 4.40 3.10 4/630 1435\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseLoadAvg(b)
		if err != nil {
			return
		}
		for _, x := range v {
			if x < 0 || x != x {
				t.Errorf("ParseLoadAvg(%q) = %v, want non-negative numbers", b, v)
			}
		}
	})
}
