package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/containerpub/containerpub/client"
)

// scaffoldFile is one file init writes.
type scaffoldFile struct {
	name    string
	content string
}

func (a *app) initCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a Go function project",
		Long: `Create a Go function project in DIR (default: the current directory):
` + client.ManifestFile + `, go.mod, handler.go with the Handle function and
handler_test.go. The function is named after the directory unless --name
is given. Existing files are never overwritten: init refuses instead.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.scaffold(dir, name)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the function's name (default: the directory's name)")
	return cmd
}

// scaffold writes a new project into dir, or nothing at all when one of
// its files exists.
func (a *app) scaffold(dir, name string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if name == "" {
		name = filepath.Base(abs)
		if err := client.ValidateName(name); err != nil {
			return fmt.Errorf("init: the directory name does not work as a function name (%w): pass --name", err)
		}
	}
	if err := client.ValidateName(name); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	files := scaffoldFiles(name)
	var existing []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.name)); !errors.Is(err, fs.ErrNotExist) {
			existing = append(existing, f.name)
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("init: %s already has %s; nothing was written", dir, strings.Join(existing, ", "))
	}
	//nolint:gosec // G301: a source directory, with the usual mode; the umask still applies.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	for _, f := range files {
		if err := writeNew(filepath.Join(dir, f.name), f.content); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "created function %s in %s:\n", name, dir)
	for _, f := range files {
		fmt.Fprintf(&b, "  %s\n", f.name)
	}
	fmt.Fprintf(&b, "next: cd %s && go test ./... && dart_cloud deploy\n", dir)
	return a.print(b.String())
}

// writeNew creates a file that must not exist yet, so a file appearing
// since the check is still never overwritten.
func writeNew(p, content string) error {
	//nolint:gosec // G302: a source file, with the usual mode; the umask still applies.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close() // the write's error is the one to report
		return err
	}
	return f.Close()
}

// scaffoldFiles returns the project init writes for a function name.
func scaffoldFiles(name string) []scaffoldFile {
	r := strings.NewReplacer("{{name}}", name, "{{manifest}}", client.ManifestFile,
		"{{ignore}}", client.IgnoreFile)
	return []scaffoldFile{
		{client.ManifestFile, r.Replace(manifestTemplate)},
		{client.IgnoreFile, r.Replace(ignoreTemplate)},
		{"go.mod", r.Replace(goModTemplate)},
		{"handler.go", r.Replace(handlerTemplate)},
		{"handler_test.go", r.Replace(handlerTestTemplate)},
	}
}

const manifestTemplate = `# The function's manifest. Only name is required; the commented keys show
# a few settings with example values. The backend fills in its defaults.
name: {{name}}
runtime: go
# Let anyone call the function at /f/{{name}}/ without a token.
public: false
# Give instances a network. Without it they reach nothing.
network: false
# env:
#   GREETING: hello
# limits:
#   memory_mb: 128
#   timeout: 30s
# scaling:
#   max_instances: 2
#   idle_timeout: 5m
`

const ignoreTemplate = `# Files dart_cloud deploy leaves out of the upload, one pattern per line.
# "*.log" matches at any depth, "tmp/" matches directories only, and a
# pattern with a slash ("/local.json", "docs/*.md") matches from the root.
# .git/, node_modules/ and a root bin/ and build/ are always left out.
*.test
*.out
`

const goModTemplate = `module example.com/{{name}}

go 1.22
`

const handlerTemplate = `// Package function is the {{name}} function. The platform builds this
// package into a server and calls Handle for every request sent to
// /f/{{name}}/.
package function

import (
	"encoding/json"
	"log"
	"net/http"
)

// Handle greets the caller by the name in the query string.
func Handle(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	// What a function logs shows up in dart_cloud logs {{name}}.
	log.Printf("greeting %q", name)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(map[string]string{"message": "hello, " + name}); err != nil {
		log.Printf("write answer: %v", err)
	}
}
`

const handlerTestTemplate = `package function

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{name: "default", target: "/", want: "hello, world"},
		{name: "named", target: "/?name=Ada", want: "hello, Ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handle(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			var got struct {
				Message string ` + "`json:\"message\"`" + `
			}
			if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
				t.Fatalf("decode answer: %v", err)
			}
			if rec.Code != http.StatusOK || got.Message != tt.want {
				t.Errorf("Handle(%s) = %d %q, want 200 %q", tt.target, rec.Code, got.Message, tt.want)
			}
		})
	}
}
`
