package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// maxLine bounds one line read from stdin.
const maxLine = 64 << 10

// lineReader reads stdin a line at a time, created lazily so that a
// command which never prompts never reads ahead of what it needs.
type lineReader struct {
	src io.Reader
	r   *bufio.Reader
}

func newLineReader(src io.Reader) *lineReader { return &lineReader{src: src} }

// next returns the next line without its line ending. It fails at the end
// of input only when nothing was read.
func (l *lineReader) next() (string, error) {
	if l.r == nil {
		l.r = bufio.NewReaderSize(l.src, 4096)
	}
	var b strings.Builder
	for {
		chunk, err := l.r.ReadSlice('\n')
		b.Write(chunk)
		if b.Len() > maxLine {
			return "", errors.New("read input: line too long")
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && b.Len() > 0:
		case err != nil:
			if errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", fmt.Errorf("read input: %w", err)
		}
		return strings.TrimRight(b.String(), "\r\n"), nil
	}
}

// ask prints prompt on stderr when stdin is a terminal and reads a line.
func (a *app) ask(prompt string) (string, error) {
	if a.isTerminal(a.stdin) {
		a.notef("%s", prompt)
	}
	line, err := a.lines.next()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "", fmt.Errorf("no answer to %q on standard input", strings.TrimSpace(prompt))
	}
	return strings.TrimSpace(line), err
}

// askSecret reads a password without echo from a terminal, or as the
// next line of non-interactive input.
func (a *app) askSecret(prompt string) (string, error) {
	f, ok := a.stdin.(interface{ Fd() uintptr })
	if !ok || !a.isTerminal(a.stdin) {
		line, err := a.lines.next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "", fmt.Errorf("no answer to %q on standard input", strings.TrimSpace(prompt))
		}
		return line, err
	}
	a.notef("%s", prompt)
	secret, err := term.ReadPassword(int(f.Fd()))
	a.notef("\n")
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(secret), nil
}

// confirm asks a yes/no question on a terminal; anything but y or yes
// is no.
func (a *app) confirm(question string) (bool, error) {
	answer, err := a.ask(question + " [y/N] ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
