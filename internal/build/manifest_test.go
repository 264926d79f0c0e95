package build

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

func secs(n float64) client.Duration { return client.Duration(n * float64(time.Second)) }

func TestResolveDefaults(t *testing.T) {
	p := DefaultPolicy()
	got, err := p.Resolve(client.FunctionConfig{Name: "hello"})
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	want := client.FunctionConfig{
		Name:    "hello",
		Runtime: client.RuntimeGo,
		Limits: client.Limits{
			MemoryMB: 128, CPUs: 1, Pids: 128, OpenFiles: 1024, Timeout: secs(30),
			MaxRequestKB: 6 * 1024, MaxResponseKB: 6 * 1024,
		},
		Scaling: client.Scaling{
			Concurrency: 1, MinInstances: 0, MaxInstances: 10, IdleTimeout: secs(120),
			MaxQueue: 1000, QueueTimeout: secs(30),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
	}
}

func TestResolveKeepsValidSettings(t *testing.T) {
	in := client.FunctionConfig{
		Name: "api", Runtime: "go", Public: true, Network: true,
		Env:     map[string]string{"GREETING": "hi", "_x1": ""},
		Limits:  client.Limits{MemoryMB: 4096, CPUs: 0.05, Pids: 16, OpenFiles: 64, Timeout: secs(3600), MaxRequestKB: 1, MaxResponseKB: 100 * 1024},
		Scaling: client.Scaling{Concurrency: 1000, MinInstances: 10, MaxInstances: 100, IdleTimeout: secs(1), MaxQueue: 1, QueueTimeout: secs(600)},
	}
	got, err := DefaultPolicy().Resolve(in)
	if err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("Resolve() changed valid settings (-want +got):\n%s", diff)
	}
}

func TestResolveRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.FunctionConfig
		want []string
	}{
		{name: "memory_over", cfg: client.FunctionConfig{Limits: client.Limits{MemoryMB: 9000}},
			want: []string{"limits.memory_mb 9000 is over the maximum 4096"}},
		{name: "memory_negative", cfg: client.FunctionConfig{Limits: client.Limits{MemoryMB: -1}},
			want: []string{"limits.memory_mb -1 is under the minimum 16"}},
		{name: "cpus_nan", cfg: client.FunctionConfig{Limits: client.Limits{CPUs: math.NaN()}},
			want: []string{"limits.cpus is not a number"}},
		{name: "cpus_inf", cfg: client.FunctionConfig{Limits: client.Limits{CPUs: math.Inf(1)}},
			want: []string{"limits.cpus +Inf is over the maximum"}},
		{name: "timeout", cfg: client.FunctionConfig{Limits: client.Limits{Timeout: secs(7200)}},
			want: []string{"limits.timeout 2h0m0s is over the maximum 1h0m0s"}},
		{name: "timeout_tiny", cfg: client.FunctionConfig{Limits: client.Limits{Timeout: client.Duration(time.Millisecond)}},
			want: []string{"limits.timeout 1ms is under the minimum 1s"}},
		{name: "response", cfg: client.FunctionConfig{Limits: client.Limits{MaxResponseKB: 100*1024 + 1}},
			want: []string{"limits.max_response_kb 102401 is over the maximum 102400"}},
		{name: "several", cfg: client.FunctionConfig{
			Limits:  client.Limits{Pids: 5, OpenFiles: 1 << 20},
			Scaling: client.Scaling{Concurrency: -3, MaxQueue: 1 << 30},
		}, want: []string{
			"limits.pids 5 is under the minimum 16",
			"limits.open_files 1048576 is over the maximum 16384",
			"scaling.concurrency -3 is under the minimum 1",
			"scaling.max_queue 1073741824 is over the maximum 100000",
		}},
		{name: "min_over_max_instances", cfg: client.FunctionConfig{Scaling: client.Scaling{MinInstances: 5, MaxInstances: 2}},
			want: []string{"scaling.min_instances 5 is over scaling.max_instances 2"}},
		{name: "bad_name", cfg: client.FunctionConfig{Name: "Hello"},
			want: []string{`name: invalid function name "Hello": must start with a lowercase letter`}},
		{name: "env_names", cfg: client.FunctionConfig{Env: map[string]string{
			"1X": "", "A-B": "", "CONTAINERPUB_SOCKET": "", "containerpub_x": "", "OK": "a\x00b",
		}}, want: []string{
			`env "1X" is not a valid variable name`,
			`env "A-B" is not a valid variable name`,
			"env CONTAINERPUB_SOCKET: names starting with CONTAINERPUB_ are reserved",
			"env OK: the value holds a NUL byte",
			"env containerpub_x: names starting with CONTAINERPUB_ are reserved",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DefaultPolicy().Resolve(tt.cfg)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Resolve() = %v, want ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "containerpub.yaml: ") {
				t.Errorf("Resolve() = %q, want it to name the manifest", msg)
			}
			parts := strings.Split(strings.TrimPrefix(msg, "containerpub.yaml: "), "; ")
			if len(parts) != len(tt.want) {
				t.Fatalf("Resolve() = %q, want %d problems %q", msg, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(parts[i], w) {
					t.Errorf("Resolve() problem %d = %q, want prefix %q", i, parts[i], w)
				}
			}
		})
	}
}

func TestResolveEnvLimits(t *testing.T) {
	p := DefaultPolicy()
	p.MaxEnv = 2
	p.MaxEnvBytes = 10
	_, err := p.Resolve(client.FunctionConfig{Env: map[string]string{"A": "12345", "B": "12345", "C": ""}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Resolve() = %v, want ErrInvalid", err)
	}
	for _, w := range []string{"env has 3 variables, over the maximum 2", "env is 13 bytes, over the maximum 10"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Resolve() = %q, want it to contain %q", err, w)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want string // "" for valid
	}{
		{"a", ""},
		{"hello-world-2", ""},
		{strings.Repeat("a", 63), ""},
		{"", "invalid function name: empty"},
		{strings.Repeat("a", 64), "longer than 63 characters"},
		{"1abc", `invalid function name "1abc": must start with a lowercase letter`},
		{"-abc", "must start with a lowercase letter"},
		{"Abc", "must start with a lowercase letter"},
		{"abc-", "must not end with '-'"},
		{"ab_c", `'_' is not allowed; use a-z, 0-9 and '-'`},
		{"abC", `'C' is not allowed`},
		{"ab.c", `'.' is not allowed`},
		{"héllo", `'é' is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidName(tt.name)
			if tt.want == "" {
				if err != nil {
					t.Errorf("ValidName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ValidName(%q) = %v, want ErrInvalid containing %q", tt.name, err, tt.want)
			}
		})
	}
}

// FuzzValidName checks ValidName against the rule written out plainly.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "hello-2", "-a", "a-", "A", "", "a_b", "é", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ok := len(name) >= 1 && len(name) <= 63 && name[0] >= 'a' && name[0] <= 'z' && name[len(name)-1] != '-'
		for _, c := range []byte(name) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				ok = false
			}
		}
		err := ValidName(name)
		if (err == nil) != ok {
			t.Fatalf("ValidName(%q) = %v, want valid=%v", name, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("ValidName(%q) = %v, want ErrInvalid", name, err)
		}
	})
}

// FuzzResolve parses arbitrary manifests and resolves them: it must not
// panic, and an accepted manifest must come back within every bound.
func FuzzResolve(f *testing.F) {
	f.Add("name: hello\nlimits:\n  memory_mb: 256\n  timeout: 1m\n")
	f.Add("scaling:\n  min_instances: 3\n  max_instances: 2\n")
	f.Add("limits:\n  cpus: .nan\n")
	f.Add("env:\n  A: b\n  CONTAINERPUB_X: y\n")
	p := DefaultPolicy()
	f.Fuzz(func(t *testing.T, manifest string) {
		cfg, err := client.ParseConfig([]byte(manifest))
		if err != nil {
			return
		}
		got, err := p.Resolve(cfg)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Resolve() = %v, want ErrInvalid", err)
			}
			return
		}
		l, s := got.Limits, got.Scaling
		checks := []struct {
			field string
			ok    bool
		}{
			{"memory_mb", l.MemoryMB >= p.MemoryMB.Min && l.MemoryMB <= p.MemoryMB.Max},
			{"cpus", l.CPUs >= p.CPUs.Min && l.CPUs <= p.CPUs.Max},
			{"timeout", l.Timeout >= p.Timeout.Min && l.Timeout <= p.Timeout.Max},
			{"max_request_kb", l.MaxRequestKB >= p.MaxRequestKB.Min && l.MaxRequestKB <= p.MaxRequestKB.Max},
			{"concurrency", s.Concurrency >= p.Concurrency.Min && s.Concurrency <= p.Concurrency.Max},
			{"instances", s.MinInstances <= s.MaxInstances && s.MaxInstances >= 1},
			{"runtime", got.Runtime != ""},
		}
		for _, c := range checks {
			if !c.ok {
				t.Fatalf("Resolve(%q) accepted %s out of bounds: %+v", manifest, c.field, got)
			}
		}
	})
}
