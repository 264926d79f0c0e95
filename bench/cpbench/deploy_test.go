package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

// TestWriteVariant copies the real bench/fn and checks the copy.
func TestWriteVariant(t *testing.T) {
	src := filepath.Join("..", "fn")
	dst := filepath.Join(t.TempDir(), "v")
	err := writeVariant(src, dst, "bench-x", func(c *client.FunctionConfig) {
		c.Scaling = client.Scaling{Concurrency: 64, MaxInstances: 1, IdleTimeout: client.Duration(time.Minute)}
	})
	if err != nil {
		t.Fatalf("writeVariant: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dst, client.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.ParseConfig(data)
	if err != nil {
		t.Fatalf("the variant's manifest does not parse: %v\n%s", err, data)
	}
	want := client.FunctionConfig{
		Name: "bench-x", Runtime: client.RuntimeGo, Public: true,
		Scaling: client.Scaling{Concurrency: 64, MaxInstances: 1, IdleTimeout: client.Duration(time.Minute)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("variant manifest (-want +got):\n%s", diff)
	}
	for _, name := range []string{"go.mod", "handler.go"} {
		a, err1 := os.ReadFile(filepath.Join(src, name))
		b, err2 := os.ReadFile(filepath.Join(dst, name))
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Errorf("%s not copied unchanged (%v, %v)", name, err1, err2)
		}
	}
}

func TestWriteVariantMissingSource(t *testing.T) {
	err := writeVariant(filepath.Join(t.TempDir(), "none"), t.TempDir(), "x", func(*client.FunctionConfig) {})
	if err == nil {
		t.Error("writeVariant(missing dir) = nil error, want one")
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{in: "abcdef", n: 3, want: "def"},
		{in: "ab", n: 3, want: "ab"},
		{in: "", n: 3, want: ""},
	}
	for _, tt := range tests {
		if got := string(tail([]byte(tt.in), tt.n)); got != tt.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
