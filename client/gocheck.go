package client

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// GoPackageName is the package name the root of a Go function must have.
const GoPackageName = "function"

// GoMainDir is the directory the backend generates the main package in.
// A source tree may not have one of its own.
const GoMainDir = "containerpubmain"

// maxGoWarnings bounds the warnings of one check, so that a tree full of
// the same pattern yields a readable report.
const maxGoWarnings = 50

// GoReport is the outcome of CheckGo. Errors stop a deployment; warnings
// point at code that builds but is unlikely to work on the platform.
type GoReport struct {
	Errors   []string
	Warnings []string
}

// OK reports whether the tree has no errors.
func (r GoReport) OK() bool { return len(r.Errors) == 0 }

// CheckGo checks the Go source tree of a function before it is built:
// the CLI runs it before uploading and the backend again before storing.
// It needs no Go toolchain: it reads go.mod and parses the Go files. Each
// message starts with the file and line it is about, when there is one.
func CheckGo(fsys fs.FS) GoReport {
	c := &goChecker{fsys: fsys, fset: token.NewFileSet()}
	c.checkModule()
	c.checkRootPackage()
	c.scanTree()
	return c.report
}

// goChecker holds the state of one CheckGo run.
type goChecker struct {
	fsys   fs.FS
	fset   *token.FileSet
	report GoReport
}

func (c *goChecker) errorf(format string, args ...any) {
	c.report.Errors = append(c.report.Errors, fmt.Sprintf(format, args...))
}

func (c *goChecker) warnf(pos token.Pos, format string, args ...any) {
	if len(c.report.Warnings) >= maxGoWarnings {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if pos.IsValid() {
		p := c.fset.Position(pos)
		msg = fmt.Sprintf("%s:%d: %s", p.Filename, p.Line, msg)
	}
	c.report.Warnings = append(c.report.Warnings, msg)
}

// checkModule requires a go.mod with a module path.
func (c *goChecker) checkModule() {
	data, err := fs.ReadFile(c.fsys, "go.mod")
	if err != nil {
		c.errorf("no go.mod at the root: run go mod init in the function's directory")
		return
	}
	if modfile.ModulePath(data) == "" {
		c.errorf("go.mod: no module line: run go mod init in the function's directory")
	}
	if hasRootEntry(c.fsys, GoMainDir) {
		c.errorf("%s/: this directory name is reserved for the main package the platform generates", GoMainDir)
	}
}

// hasRootEntry reports whether the root of fsys holds an entry named
// name of any kind: a link that points nowhere counts too.
func hasRootEntry(fsys fs.FS, name string) bool {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return false // the other checks report an unreadable tree
	}
	for _, e := range entries {
		if e.Name() == name {
			return true
		}
	}
	return false
}

// checkRootPackage checks the package at the root of the tree: its name,
// its Handle function and the absence of func main.
func (c *goChecker) checkRootPackage() {
	files, broken := c.rootFiles()
	if broken {
		return // the syntax errors say enough; more checks would guess
	}
	if len(files) == 0 {
		c.errorf("no Go files at the root: package %s belongs next to go.mod", GoPackageName)
		return
	}
	handle := false
	for _, f := range files {
		name := f.Name.Name
		if name != GoPackageName {
			c.errorf("%s: package %s: the root package must be named %s",
				c.fset.Position(f.Package).Filename, name, GoPackageName)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil {
				continue
			}
			switch fn.Name.Name {
			case "main":
				c.errorf("%s: func main: package %s must not have one, the platform supplies the main package",
					c.position(fn.Pos()), GoPackageName)
			case "Handle":
				handle = true
				if !isHandleSignature(f, fn.Type) || fn.Type.TypeParams != nil {
					c.errorf("%s: func Handle has the wrong signature: want %s",
						c.position(fn.Pos()), handleSignature)
				}
			}
		}
	}
	if !handle {
		c.errorf("no %s in package %s", handleSignature, GoPackageName)
	}
}

const handleSignature = "func Handle(w http.ResponseWriter, r *http.Request)"

func (c *goChecker) position(pos token.Pos) string {
	p := c.fset.Position(pos)
	return fmt.Sprintf("%s:%d", p.Filename, p.Line)
}

// rootFiles parses the root directory's Go files that a Linux build
// without cgo compiles, the way the backend builds them. A file that does
// not parse is an error, since the build would fail on it; broken
// reports one.
func (c *goChecker) rootFiles() (files []*ast.File, broken bool) {
	entries, err := fs.ReadDir(c.fsys, ".")
	if err != nil {
		c.errorf("read the source tree: %v", err)
		return nil, true
	}
	ctxt := c.buildContext()
	for _, e := range entries {
		name := e.Name()
		if !isCompiledGoFile(name) || !c.isRegular(name, e) {
			continue
		}
		if ok, err := ctxt.MatchFile(".", name); err != nil || !ok {
			continue
		}
		f := c.parse(name)
		switch {
		case f == nil:
			broken = true
		case importName(f, "C") == "":
			// go build leaves cgo files out when CGO_ENABLED=0.
			files = append(files, f)
		}
	}
	return files, broken
}

// isRegular reports whether an entry is a regular file or a symbolic
// link to one, as go build reads both.
func (c *goChecker) isRegular(name string, e fs.DirEntry) bool {
	if e.Type().IsRegular() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := fs.Stat(c.fsys, name)
	return err == nil && info.Mode().IsRegular()
}

// buildContext matches files as a linux build with CGO_ENABLED=0 does,
// reading them from the checked tree instead of the disk.
func (c *goChecker) buildContext() build.Context {
	ctxt := build.Default
	ctxt.GOOS = "linux"
	ctxt.GOARCH = runtime.GOARCH
	ctxt.CgoEnabled = false
	ctxt.OpenFile = func(p string) (io.ReadCloser, error) {
		return c.fsys.Open(path.Clean(p))
	}
	return ctxt
}

func (c *goChecker) parse(name string) *ast.File {
	src, err := fs.ReadFile(c.fsys, name)
	if err != nil {
		c.errorf("%s: %v", name, err)
		return nil
	}
	f, err := parser.ParseFile(c.fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		c.errorf("%v", firstParseError(err))
		return nil
	}
	return f
}

// firstParseError keeps a long list of syntax errors down to its first,
// which is usually the cause of the others.
func firstParseError(err error) error {
	if list, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := list.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return err
}

func isCompiledGoFile(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") &&
		!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// isHandleSignature reports whether ft is
// func(http.ResponseWriter, *http.Request) with net/http imported under
// any name in file f.
func isHandleSignature(f *ast.File, ft *ast.FuncType) bool {
	if ft.Results != nil && len(ft.Results.List) > 0 {
		return false
	}
	var params []ast.Expr
	for _, field := range ft.Params.List {
		n := max(len(field.Names), 1)
		for range n {
			params = append(params, field.Type)
		}
	}
	if len(params) != 2 {
		return false
	}
	httpName := importName(f, "net/http")
	if httpName == "" {
		return false
	}
	star, ok := params[1].(*ast.StarExpr)
	return ok && isQualified(params[0], httpName, "ResponseWriter") &&
		isQualified(star.X, httpName, "Request")
}

// isQualified reports whether e names pkg.name, or name alone when the
// package is dot-imported.
func isQualified(e ast.Expr, pkg, name string) bool {
	if pkg == "." {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == name
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == name
}

// importName returns the name under which file f imports the package at
// importPath, "." for a dot import, or "" when it does not import it.
func importName(f *ast.File, importPath string) string {
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p != importPath {
			continue
		}
		if imp.Name != nil {
			if imp.Name.Name == "_" {
				continue
			}
			return imp.Name.Name
		}
		return path.Base(importPath)
	}
	return ""
}

// riskyImports are imports that build but are unlikely to work, or work
// differently, inside a function instance.
var riskyImports = map[string]string{
	"os/exec": "spawning processes: the instance has no other programs and a small process limit",
	"unsafe":  "unsafe code: memory errors crash the instance",
	"syscall": "direct system calls: most are blocked or meaningless in the sandbox",
	"C":       "cgo: functions are built with CGO_ENABLED=0, so this file is left out of the build",
	"plugin":  "plugins need cgo and files the image does not have",
}

// listenCalls are calls that start a server of the function's own.
var listenCalls = map[string][]string{
	"net":      {"Listen", "ListenTCP", "ListenUDP", "ListenUnix", "ListenPacket"},
	"net/http": {"ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS"},
}

// scanTree warns about risky code in every Go file the module would
// compile, skipping test files and the directories go build ignores.
func (c *goChecker) scanTree() {
	walk := func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (name == "testdata" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		// A .env file is Pack's to warn about: only Pack knows whether
		// it is uploaded or ignored.
		if isCompiledGoFile(name) && c.isRegular(p, d) {
			c.scanFile(p)
		}
		return nil
	}
	_ = fs.WalkDir(c.fsys, ".", walk) // the callback never fails
}

func (c *goChecker) scanFile(p string) {
	src, err := fs.ReadFile(c.fsys, p)
	if err != nil {
		return
	}
	f, err := parser.ParseFile(c.fset, p, src, parser.SkipObjectResolution)
	if err != nil {
		// Root files were reported by checkRootPackage; a broken file
		// elsewhere is an error too, since the build would stop on it.
		if path.Dir(p) != "." {
			c.errorf("%v", firstParseError(err))
		}
		return
	}
	for _, imp := range f.Imports {
		ip, err := strconv.Unquote(imp.Path.Value)
		if why, ok := riskyImports[ip]; err == nil && ok {
			c.warnf(imp.Pos(), "imports %s: %s", ip, why)
		}
	}
	names := listenNames(f)
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			c.checkCall(n, names)
		case *ast.BasicLit:
			c.checkLiteral(n)
		}
		return true
	})
}

// listenNames maps each local name of a package in listenCalls to that
// package's listening functions, for one file.
func listenNames(f *ast.File) map[string][]string {
	names := make(map[string][]string)
	for ip, funcs := range listenCalls {
		if n := importName(f, ip); n != "" && n != "." {
			names[n] = funcs
		}
	}
	return names
}

func (c *goChecker) checkCall(call *ast.CallExpr, names map[string][]string) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return
	}
	for _, fn := range names[x.Name] {
		if sel.Sel.Name == fn {
			c.warnf(call.Pos(), "calls %s.%s: the platform serves HTTP for you and calls Handle; a server of your own is never reached",
				x.Name, fn)
			return
		}
	}
}

func (c *goChecker) checkLiteral(lit *ast.BasicLit) {
	if lit.Kind != token.STRING {
		return
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return
	}
	switch {
	case strings.Contains(s, "127.0.0.1"), strings.Contains(strings.ToLower(s), "localhost"),
		s == "::1", strings.Contains(s, "[::1]"):
		c.warnf(lit.Pos(), "loopback address %q: an instance has no other services on its loopback, and usually no network", s)
	case s == ".env" || strings.HasSuffix(s, "/.env"):
		c.warnf(lit.Pos(), "reads %q: .env files are not deployed as configuration; set variables under env in %s", s, ManifestFile)
	}
}
