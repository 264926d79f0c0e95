package client

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		check   func(t *testing.T, c FunctionConfig)
	}{
		{name: "empty", in: "", check: func(t *testing.T, c FunctionConfig) {
			if c.Name != "" || c.Public {
				t.Errorf("ParseConfig(\"\") = %+v, want zero", c)
			}
		}},
		{name: "full", in: "name: hi\npublic: true\nlimits:\n  timeout: 90s\n  memory_mb: 64\nscaling:\n  idle_timeout: 5\n",
			check: func(t *testing.T, c FunctionConfig) {
				if c.Name != "hi" || !c.Public || c.Limits.Timeout.D() != 90*time.Second ||
					c.Limits.MemoryMB != 64 || c.Scaling.IdleTimeout.D() != 5*time.Second {
					t.Errorf("ParseConfig = %+v", c)
				}
			}},
		{name: "unknown_key", in: "name: hi\ntimeot: 3s\n", wantErr: "timeot"},
		{name: "bad_duration", in: "limits:\n  timeout: soon\n", wantErr: "soon"},
		{name: "two_documents", in: "name: a\n---\nname: b\n", wantErr: "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseConfig(%q) err = %v, want it to mention %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig(%q) = %v", tt.in, err)
			}
			tt.check(t, c)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("name: hello\nruntime: go\npublic: true\nlimits:\n  timeout: 10s\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// What parses must survive a round trip.
		out, err := MarshalConfig(c)
		if err != nil {
			t.Fatalf("MarshalConfig(%+v) = %v", c, err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("ParseConfig(MarshalConfig(%+v)) = %v\n%s", c, err, out)
		}
	})
}
