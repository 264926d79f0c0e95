package cli

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerpub/containerpub/client"
)

// requireServices reports whether missing tools must fail tests (CI).
func requireServices() bool { return os.Getenv("CONTAINERPUB_REQUIRE_SERVICES") == "1" }

func TestInitScaffold(t *testing.T) {
	h := newHarness(t, "")
	dir := filepath.Join(t.TempDir(), "greeter")
	r := h.run("", "init", dir)
	if r.code != 0 {
		t.Fatalf("init = %+v", r)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{client.IgnoreFile, client.ManifestFile, "go.mod", "handler.go", "handler_test.go"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("init wrote (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(filepath.Join(dir, client.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := client.ParseConfig(data)
	if err != nil {
		t.Fatalf("the scaffolded manifest does not parse: %v", err)
	}
	if cfg.Name != "greeter" || cfg.Runtime != client.RuntimeGo || cfg.Public {
		t.Errorf("scaffolded manifest = %+v, want name greeter, runtime go, private", cfg)
	}
	// The commented-out settings must be real keys once uncommented.
	var uncommented []string
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "# "); ok && commentedKey.MatchString(rest) {
			line = rest
		}
		uncommented = append(uncommented, line)
	}
	full, err := client.ParseConfig([]byte(strings.Join(uncommented, "")))
	if err != nil {
		t.Errorf("the manifest's commented settings are not valid keys: %v", err)
	}
	if full.Limits.MemoryMB != 128 || full.Scaling.MaxInstances != 2 || full.Env["GREETING"] != "hello" {
		t.Errorf("uncommented manifest = %+v, want the example settings", full)
	}
	report := client.CheckGo(os.DirFS(dir))
	if len(report.Errors) != 0 || len(report.Warnings) != 0 {
		t.Errorf("CheckGo(scaffold) = %+v, want a clean report", report)
	}
	res, err := client.Pack(dir, io.Discard)
	if err != nil || len(res.Warnings) != 0 || res.Files != 5 {
		t.Errorf("Pack(scaffold) = %+v, %v; want 5 files and no warnings", res, err)
	}
}

// commentedKey matches a commented-out manifest line such as
// "  memory_mb: 128", as opposed to a sentence.
var commentedKey = regexp.MustCompile(`^\s*[A-Za-z_]+:(\s|$)`)

func TestInitScaffoldBuildsAndPasses(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if requireServices() {
			t.Fatal("go toolchain not found; CONTAINERPUB_REQUIRE_SERVICES=1 requires it")
		}
		t.Skip("SKIPPED: go toolchain not found on PATH; the scaffold was not vetted or tested")
	}
	h := newHarness(t, "")
	dir := filepath.Join(t.TempDir(), "project")
	if r := h.run("", "init", "--name", "vetme", dir); r.code != 0 {
		t.Fatalf("init = %+v", r)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "./..."}} {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		// The scaffold has no dependencies: it must build offline, with
		// the toolchain at hand.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOPROXY=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s in the scaffold: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestInitRefuses(t *testing.T) {
	tests := []struct {
		name     string
		dirName  string
		existing []string
		args     []string
		wantErr  string
	}{
		{name: "existing-files", dirName: "hello", existing: []string{"go.mod", "handler.go"},
			wantErr: "error: init: DIR already has go.mod, handler.go; nothing was written\n"},
		{name: "bad-dir-name", dirName: "My_Func",
			wantErr: "error: init: the directory name does not work as a function name (invalid function name \"My_Func\": must start with a lowercase letter): pass --name\n"},
		{name: "bad-name-flag", dirName: "ok", args: []string{"--name", "a-"},
			wantErr: "error: init: invalid function name \"a-\": must not end with '-'\n"},
		{name: "two-dirs", dirName: "ok", args: []string{"other"},
			wantErr: "error: accepts at most 1 arg(s), received 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.dirName)
			os.MkdirAll(dir, 0o755)
			for _, f := range tt.existing {
				os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644)
			}
			h := newHarness(t, "")
			r := h.run("", append([]string{"init", dir}, tt.args...)...)
			want := strings.ReplaceAll(tt.wantErr, "DIR", dir)
			if r.code != 1 || r.stderr != want {
				t.Errorf("init = %d %q, want 1 %q", r.code, r.stderr, want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.existing) {
				t.Errorf("init left %d entries, want the %d that were there", len(entries), len(tt.existing))
			}
			for _, f := range tt.existing {
				if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != "mine" {
					t.Errorf("init overwrote %s", f)
				}
			}
		})
	}
}

func TestInitNameFromCurrentDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-cwd")
	os.MkdirAll(dir, 0o755)
	t.Chdir(dir)
	h := newHarness(t, "")
	if r := h.run("", "init"); r.code != 0 || !strings.HasPrefix(r.stdout, "created function from-cwd in .:\n") {
		t.Fatalf("init = %+v", r)
	}
	cfg, err := readManifest(".")
	if err != nil || cfg.Name != "from-cwd" {
		t.Errorf("readManifest() = %+v, %v", cfg, err)
	}
}
