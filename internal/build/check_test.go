package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

const helloMod = "module example.com/hello\n\ngo 1.22\n"

const helloGo = `package function

import "net/http"

func Handle(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }
`

func check(t *testing.T, data []byte) (Source, error) {
	t.Helper()
	return Check(context.Background(), bytes.NewReader(data), int64(len(data)), DefaultPolicy(), t.TempDir())
}

func TestCheckExamples(t *testing.T) {
	tests := []struct {
		name string
		want func(c client.FunctionConfig) bool
	}{
		{"hello", func(c client.FunctionConfig) bool { return c.Public && c.Limits.MemoryMB == 64 }},
		{"jsonapi", func(c client.FunctionConfig) bool { return c.Scaling.MaxInstances == 1 && c.Scaling.Concurrency == 20 }},
		{"env", func(c client.FunctionConfig) bool {
			return cmp.Equal(c.Env, map[string]string{"GREETING": "Hello", "TARGET": "ContainerPub"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := check(t, packDir(t, filepath.Join(examplesDir(t), tt.name)))
			if err != nil {
				t.Fatalf("Check(examples/%s) = %v", tt.name, err)
			}
			if src.Config.Name != tt.name || src.Config.Runtime != client.RuntimeGo || !tt.want(src.Config) {
				t.Errorf("Check(examples/%s) config = %+v", tt.name, src.Config)
			}
			if len(src.Warnings) != 0 {
				t.Errorf("Check(examples/%s) warnings = %q, want none", tt.name, src.Warnings)
			}
			if !strings.HasPrefix(src.Hash, "sha256:") {
				t.Errorf("Check(examples/%s) hash = %q", tt.name, src.Hash)
			}
		})
	}
}

func TestCheckRejects(t *testing.T) {
	manifest := file(client.ManifestFile, "name: hello\n")
	tests := []struct {
		name    string
		members []member
		want    string
	}{
		{name: "no_manifest", members: []member{file("go.mod", helloMod), file("h.go", helloGo)},
			want: "no containerpub.yaml at the root of the archive"},
		{name: "manifest_in_folder", members: []member{file("hello/containerpub.yaml", "name: hello\n"), file("hello/go.mod", helloMod)},
			want: "it is in hello/; archive the contents of the function's folder, not the folder"},
		{name: "manifest_is_symlink", members: []member{file("real.yaml", "name: x\n"), symlink(client.ManifestFile, "real.yaml")},
			want: "containerpub.yaml must be a regular file"},
		{name: "manifest_is_dir", members: []member{dir(client.ManifestFile + "/")},
			want: "containerpub.yaml must be a regular file"},
		{name: "manifest_syntax", members: []member{file(client.ManifestFile, "name: [\n")},
			want: "parse containerpub.yaml"},
		{name: "manifest_unknown_key", members: []member{file(client.ManifestFile, "name: x\nmemory: 5\n")},
			want: "field memory not found"},
		{name: "manifest_bounds", members: []member{file(client.ManifestFile, "limits:\n  memory_mb: 9000\n")},
			want: "containerpub.yaml: limits.memory_mb 9000 is over the maximum 4096"},
		{name: "unknown_runtime", members: []member{file(client.ManifestFile, "runtime: rust\n")},
			want: `unknown runtime "rust": supported runtimes are go`},
		{name: "no_go_mod", members: []member{manifest, file("h.go", helloGo)},
			want: "go source: no go.mod at the root"},
		{name: "wrong_package", members: []member{manifest, file("go.mod", helloMod), file("h.go", strings.Replace(helloGo, "function", "main", 1))},
			want: "go source: h.go: package main: the root package must be named function"},
		{name: "reserved_dir", members: []member{manifest, file("go.mod", helloMod), file("h.go", helloGo), file("containerpubmain/x.go", "package main")},
			want: "containerpubmain/: this directory name is reserved"},
		{name: "go_too_new", members: []member{manifest, file("go.mod", "module example.com/hello\n\ngo 1.99\n"), file("h.go", helloGo)},
			want: "go.mod: go 1.99 is newer than the platform's go1."},
		{name: "go_mod_broken", members: []member{manifest, file("go.mod", "module example.com/hello\nrequire (\n"), file("h.go", helloGo)},
			want: "go.mod:"},
		{name: "bad_archive", members: []member{file("../x", "")}, want: "path has a .. component"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := check(t, tarGz(t, tt.members...))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Check() = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckWarnings(t *testing.T) {
	risky := strings.Replace(helloGo, `import "net/http"`, "import (\n\t\"net/http\"\n\t\"os/exec\"\n)\n\nvar _ = exec.Command", 1)
	src, err := check(t, tarGz(t, file(client.ManifestFile, "name: hello\n"), file("go.mod", helloMod), file("h.go", risky)))
	if err != nil {
		t.Fatalf("Check() = %v", err)
	}
	if len(src.Warnings) != 1 || !strings.Contains(src.Warnings[0], "imports os/exec") {
		t.Errorf("Check() warnings = %q, want one about os/exec", src.Warnings)
	}
}

func TestCheckTooLarge(t *testing.T) {
	p := DefaultPolicy()
	p.MaxUnpackedBytes = 100
	data := tarGz(t, file(client.ManifestFile, strings.Repeat("#", 200)))
	_, err := Check(context.Background(), bytes.NewReader(data), int64(len(data)), p, t.TempDir())
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Check() = %v, want ErrTooLarge", err)
	}
}

// TestExamplesPassGoTest runs each example's own tests with the Go
// toolchain: the examples are modules of their own, outside ./...
func TestExamplesPassGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test in each example: not in -short mode")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPING: no go command on PATH")
	}
	entries, err := os.ReadDir(examplesDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if want := []string{"env", "hello", "jsonapi"}; !slices.Equal(names, want) {
		t.Errorf("examples = %q, want %q", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), gobin, "vet", "./...")
			cmd.Dir = filepath.Join(examplesDir(t), name)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet in examples/%s: %v\n%s", name, err, out)
			}
			cmd = exec.CommandContext(t.Context(), gobin, "test", "-count=1", "./...")
			cmd.Dir = filepath.Join(examplesDir(t), name)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test in examples/%s: %v\n%s", name, err, out)
			}
		})
	}
}
