package client

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const goMod = "module example.com/fn\n\ngo 1.22\n"

const goodHandle = `package function

import "net/http"

func Handle(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte("hi"))
}
`

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }

// tree builds a MapFS from pairs of path and content.
func tree(pairs ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = file(pairs[i+1])
	}
	return m
}

func TestCheckGoErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string // substrings, one per expected error, in order
	}{
		{
			name: "valid",
			fsys: tree("go.mod", goMod, "handler.go", goodHandle),
		},
		{
			name: "aliased_http_and_grouped_params",
			fsys: tree("go.mod", goMod, "h.go", `package function
import nethttp "net/http"
func Handle(w nethttp.ResponseWriter, r *nethttp.Request) {}
`),
		},
		{
			name: "dot_import",
			fsys: tree("go.mod", goMod, "h.go", `package function
import . "net/http"
func Handle(ResponseWriter, *Request) {}
`),
		},
		{
			name: "handle_in_second_file",
			fsys: tree("go.mod", goMod, "a.go", "package function\n", "b.go", goodHandle),
		},
		{
			name: "no_go_mod",
			fsys: tree("handler.go", goodHandle),
			want: []string{"no go.mod at the root"},
		},
		{
			name: "go_mod_without_module",
			fsys: tree("go.mod", "go 1.22\n", "handler.go", goodHandle),
			want: []string{"go.mod: no module line"},
		},
		{
			name: "wrong_package_name",
			fsys: tree("go.mod", goMod, "handler.go", strings.Replace(goodHandle, "package function", "package main", 1)),
			want: []string{"handler.go: package main: the root package must be named function"},
		},
		{
			name: "no_handle",
			fsys: tree("go.mod", goMod, "handler.go", "package function\n\nfunc Serve() {}\n"),
			want: []string{"no func Handle(w http.ResponseWriter, r *http.Request) in package function"},
		},
		{
			name: "handle_is_a_method",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import "net/http"
type T struct{}
func (T) Handle(w http.ResponseWriter, r *http.Request) {}
`),
			want: []string{"no func Handle"},
		},
		{
			name: "handle_takes_request_by_value",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import "net/http"
func Handle(w http.ResponseWriter, r http.Request) {}
`),
			want: []string{"handler.go:3: func Handle has the wrong signature"},
		},
		{
			name: "handle_returns_error",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import "net/http"
func Handle(w http.ResponseWriter, r *http.Request) error { return nil }
`),
			want: []string{"func Handle has the wrong signature"},
		},
		{
			name: "handle_with_types_from_another_package",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import http "example.com/fake"
func Handle(w http.ResponseWriter, r *http.Request) {}
`),
			want: []string{"func Handle has the wrong signature"},
		},
		{
			name: "handle_with_three_params",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import "net/http"
func Handle(w http.ResponseWriter, r *http.Request, n int) {}
`),
			want: []string{"func Handle has the wrong signature"},
		},
		{
			name: "generic_handle",
			fsys: tree("go.mod", goMod, "handler.go", `package function
import "net/http"
func Handle[T any](w http.ResponseWriter, r *http.Request) {}
`),
			want: []string{"func Handle has the wrong signature"},
		},
		{
			name: "func_main",
			fsys: tree("go.mod", goMod, "handler.go", goodHandle+"\nfunc main() {}\n"),
			want: []string{"handler.go:9: func main: package function must not have one"},
		},
		{
			name: "no_go_files",
			fsys: tree("go.mod", goMod, "README.md", "hi"),
			want: []string{"no Go files at the root"},
		},
		{
			name: "handle_only_in_test_file",
			fsys: tree("go.mod", goMod, "handler_test.go", goodHandle),
			want: []string{"no Go files at the root"},
		},
		{
			name: "handle_only_in_ignored_file",
			fsys: tree("go.mod", goMod, "a.go", "package function\n", "h.go", "//go:build ignore\n\n"+goodHandle),
			want: []string{"no func Handle"},
		},
		{
			name: "handle_only_in_cgo_file",
			fsys: tree("go.mod", goMod, "a.go", "package function\n", "h.go", strings.Replace(goodHandle, `import "net/http"`, "import \"C\"\nimport \"net/http\"", 1)),
			want: []string{"no func Handle"},
		},
		{
			name: "syntax_error_at_root",
			fsys: tree("go.mod", goMod, "handler.go", "package function\n\nfunc Handle( {\n"),
			want: []string{"handler.go:3:"},
		},
		{
			name: "syntax_error_in_subpackage",
			fsys: tree("go.mod", goMod, "handler.go", goodHandle, "lib/lib.go", "package lib\nfunc {"),
			want: []string{"lib/lib.go:2:"},
		},
		{
			name: "reserved_main_dir",
			fsys: tree("go.mod", goMod, "handler.go", goodHandle, "containerpubmain/main.go", "package main\n"),
			want: []string{"containerpubmain/: this directory name is reserved"},
		},
		{
			name: "reserved_main_dir_as_a_dangling_link",
			fsys: func() fstest.MapFS {
				f := tree("go.mod", goMod, "handler.go", goodHandle)
				f["containerpubmain"] = &fstest.MapFile{Mode: fs.ModeSymlink, Data: []byte("nowhere")}
				return f
			}(),
			want: []string{"containerpubmain/: this directory name is reserved"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckGo(tt.fsys)
			if len(got.Errors) != len(tt.want) {
				t.Fatalf("CheckGo() errors = %q, want %d matching %q", got.Errors, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got.Errors[i], w) {
					t.Errorf("CheckGo() error %d = %q, want it to contain %q", i, got.Errors[i], w)
				}
			}
			if got.OK() != (len(tt.want) == 0) {
				t.Errorf("CheckGo().OK() = %v with errors %q", got.OK(), got.Errors)
			}
		})
	}
}

func TestCheckGoWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string // a file lib/lib.go next to a valid root package
		want []string
	}{
		{
			name: "clean",
			src:  "package lib\n\nimport \"strings\"\n\nvar X = strings.ToUpper(\"a\")\n",
		},
		{
			name: "os_exec",
			src:  "package lib\n\nimport \"os/exec\"\n\nvar _ = exec.Command\n",
			want: []string{"lib/lib.go:3: imports os/exec: spawning processes"},
		},
		{
			name: "unsafe_syscall_plugin",
			src:  "package lib\n\nimport (\n\t\"unsafe\"\n\t\"syscall\"\n\t\"plugin\"\n)\n",
			want: []string{"lib/lib.go:4: imports unsafe", "lib/lib.go:5: imports syscall", "lib/lib.go:6: imports plugin"},
		},
		{
			name: "cgo",
			src:  "package lib\n\n// int x;\nimport \"C\"\n",
			want: []string{"lib/lib.go:4: imports C: cgo"},
		},
		{
			name: "listen_and_serve_aliased",
			src:  "package lib\n\nimport h \"net/http\"\n\nfunc F() { h.ListenAndServe(\":80\", nil) }\n",
			want: []string{"lib/lib.go:5: calls h.ListenAndServe"},
		},
		{
			name: "net_listen",
			src:  "package lib\n\nimport \"net\"\n\nfunc F() { net.Listen(\"tcp\", \":0\") }\n",
			want: []string{"lib/lib.go:5: calls net.Listen"},
		},
		{
			name: "listen_method_of_other_value_is_fine",
			src:  "package lib\n\ntype s struct{}\n\nfunc (s) Listen() {}\n\nfunc F() { var net s; net.Listen() }\n",
		},
		{
			name: "loopback_literals",
			src:  "package lib\n\nvar a = \"http://127.0.0.1:8080\"\nvar b = `LocalHost:5432`\nvar c = \"::1\"\nvar d = \"http://[::1]:80\"\n",
			want: []string{
				`lib/lib.go:3: loopback address "http://127.0.0.1:8080"`,
				`lib/lib.go:4: loopback address "LocalHost:5432"`,
				`lib/lib.go:5: loopback address "::1"`,
				`lib/lib.go:6: loopback address "http://[::1]:80"`,
			},
		},
		{
			name: "dotenv",
			src:  "package lib\n\nvar a = \".env\"\nvar b = \"config/.env\"\nvar c = \".envrc\"\n",
			want: []string{`lib/lib.go:3: reads ".env"`, `lib/lib.go:4: reads "config/.env"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := tree("go.mod", goMod, "handler.go", goodHandle, "lib/lib.go", tt.src)
			got := CheckGo(fsys)
			if !got.OK() {
				t.Fatalf("CheckGo() errors = %q, want none", got.Errors)
			}
			if len(got.Warnings) != len(tt.want) {
				t.Fatalf("CheckGo() warnings = %q, want %d matching %q", got.Warnings, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got.Warnings[i], w) {
					t.Errorf("CheckGo() warning %d = %q, want prefix %q", i, got.Warnings[i], w)
				}
			}
		})
	}
}

func TestCheckGoSkipsIgnoredDirsAndTests(t *testing.T) {
	risky := "package x\n\nimport \"os/exec\"\n\nvar _ = exec.Command\n"
	fsys := tree("go.mod", goMod, "handler.go", goodHandle,
		"handler_test.go", risky, "testdata/x.go", risky, "vendor/x/x.go", risky,
		".hidden/x.go", risky, "_old/x.go", risky, "sub/testdata/bad.go", "not go at all")
	got := CheckGo(fsys)
	if diff := cmp.Diff(GoReport{}, got); diff != "" {
		t.Errorf("CheckGo() mismatch (-want +got):\n%s", diff)
	}
}

// TestCheckGoLeavesDotEnvFileToPack checks that a .env file gets no
// warning here: Pack warns about it when it is uploaded, and one warning
// for one file is enough.
func TestCheckGoLeavesDotEnvFileToPack(t *testing.T) {
	fsys := tree("go.mod", goMod, "handler.go", goodHandle, ".env", "SECRET=1")
	got := CheckGo(fsys)
	if diff := cmp.Diff(GoReport{}, got); diff != "" {
		t.Errorf("CheckGo() mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckGoCapsWarnings(t *testing.T) {
	var b strings.Builder
	b.WriteString("package lib\n")
	for range 2 * maxGoWarnings {
		b.WriteString("var _ = \"localhost\"\n")
	}
	got := CheckGo(tree("go.mod", goMod, "handler.go", goodHandle, "lib/lib.go", b.String()))
	if len(got.Warnings) != maxGoWarnings {
		t.Errorf("CheckGo() gave %d warnings, want the cap %d", len(got.Warnings), maxGoWarnings)
	}
}

// FuzzCheckGo feeds arbitrary go.mod and root source files to CheckGo. It
// must never panic, and must only pass a tree whose root file parses and
// declares Handle in package function.
func FuzzCheckGo(f *testing.F) {
	f.Add(goMod, goodHandle)
	f.Add("module x", "package function\nimport h \"net/http\"\nfunc Handle(h.ResponseWriter, *h.Request)\n")
	f.Add("", "package main\nfunc main() {}")
	f.Add("module x\ngo 1.22", "package function\nfunc Handle(w, r int) {}")
	f.Add("module x", "//go:build ignore\npackage function")
	f.Fuzz(func(t *testing.T, mod, src string) {
		got := CheckGo(tree("go.mod", mod, "h.go", src))
		if !got.OK() {
			return
		}
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, "h.go", src, 0)
		if err != nil {
			t.Fatalf("CheckGo passed a file that does not parse: %v", err)
		}
		if af.Name.Name != GoPackageName {
			t.Fatalf("CheckGo passed package %q", af.Name.Name)
		}
		if !strings.Contains(src, "Handle") || !strings.Contains(src, "net/http") {
			t.Fatalf("CheckGo passed a file without Handle or net/http: %q", src)
		}
	})
}

// TestCheckGoSymlinkedFile checks that a root file reached through a
// symbolic link counts, as it does for go build.
func TestCheckGoSymlinkedFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "impl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "impl", "handler.go.txt"), []byte(goodHandle), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("impl/handler.go.txt", filepath.Join(dir, "handler.go")); err != nil {
		t.Fatal(err)
	}
	if got := CheckGo(os.DirFS(dir)); !got.OK() {
		t.Errorf("CheckGo() errors = %q, want none", got.Errors)
	}
}
