package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
)

// IgnoreFile names the file, at the root of a function's source tree,
// listing what Pack leaves out.
//
// Its syntax is a small subset of .gitignore, one pattern per line:
//
//   - Blank lines and lines starting with # are skipped.
//   - A pattern is a path.Match glob: * and ? match within one path
//     segment, [a-z] matches a class. ** and ! (negation) are refused
//     rather than half-supported.
//   - A pattern ending in / matches directories only.
//   - A pattern without any other / matches the name of a file or
//     directory at any depth ("*.log", "tmp/").
//   - A pattern with a / inside or at its start is anchored at the root
//     and matches the whole relative path ("/secrets.json", "docs/*.md").
//   - A matched directory is left out with everything in it.
const IgnoreFile = ".containerpubignore"

// errBadIgnore is wrapped by every syntax error of an ignore file.
var errBadIgnore = errors.New("bad " + IgnoreFile)

// ignoreRule is one pattern of an ignore file.
type ignoreRule struct {
	pattern string
	// anchored rules match the whole slash path relative to the root,
	// the others only the last segment.
	anchored bool
	dirOnly  bool
}

// ignoreList is the rules of an ignore file, in file order.
type ignoreList []ignoreRule

// parseIgnore reads an ignore file.
func parseIgnore(data []byte) (ignoreList, error) {
	var rules ignoreList
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseIgnoreLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", errBadIgnore, n, err)
		}
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadIgnore, err)
	}
	return rules, nil
}

// parseIgnoreLine reads one non-blank, non-comment line.
func parseIgnoreLine(line string) (ignoreRule, error) {
	if strings.HasPrefix(line, "!") {
		return ignoreRule{}, fmt.Errorf("%q: negation (!) is not supported", line)
	}
	if strings.Contains(line, "**") {
		return ignoreRule{}, fmt.Errorf("%q: ** is not supported; use * for one segment", line)
	}
	var r ignoreRule
	p := line
	if strings.HasSuffix(p, "/") {
		r.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	if strings.Contains(p, "/") {
		r.anchored = true
		p = strings.TrimLeft(p, "/")
	}
	if p == "" {
		return ignoreRule{}, fmt.Errorf("%q: matches nothing", line)
	}
	if _, err := path.Match(p, ""); err != nil {
		return ignoreRule{}, fmt.Errorf("%q: %w", line, err)
	}
	r.pattern = p
	return r, nil
}

// match reports whether the entry at the slash path rel is left out.
func (l ignoreList) match(rel string, isDir bool) bool {
	for _, r := range l {
		if r.dirOnly && !isDir {
			continue
		}
		subject := rel
		if !r.anchored {
			subject = path.Base(rel)
		}
		// The pattern was checked when parsed, so Match cannot fail.
		if ok, _ := path.Match(r.pattern, subject); ok {
			return true
		}
	}
	return false
}
