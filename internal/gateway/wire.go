package gateway

import (
	"bytes"
	"strconv"

	"github.com/containerpub/containerpub/internal/pool"
)

// This file reads and checks the HTTP/1.1 heads of the gateway's own
// connection path (conn.go). Its request side is deliberately narrow: it
// recognises a plain call, a request for /f/ whose head has one
// unambiguous meaning, and everything else goes to net/http's server,
// which answers it or refuses it with net/http's own strictness. So this
// parser never has to refuse anything itself: "not plain" is its only
// verdict besides the parsed head. Its response side reads what an
// instance answers, and refuses what it cannot forward faithfully.

// span is a slice of a head, start to end.
type span struct{ start, end int }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// Header kinds: what the gateway does with a header line.
const (
	hdrPass      = iota // forwarded as it is
	hdrDrop             // hop-by-hop or the gateway's own: not forwarded
	hdrAuth             // Authorization: checked, forwarded unless stripped
	hdrRequestID        // X-Request-Id: read, replaced by the call's own
	hdrLength           // Content-Length
	hdrChunked          // Transfer-Encoding: chunked (answers only)
)

// headerLine is one header of a head.
type headerLine struct {
	name, value span
	kind        uint8
}

// requestHead is a plain call's head, its parts as spans of the bytes it
// was parsed from.
type requestHead struct {
	method, target span
	host           span
	lines          []headerLine
	// contentLength is the body's length; 0 without a Content-Length.
	contentLength int64
	// close is set when the caller asked to close the connection after
	// the answer.
	close bool
	// requestID is the caller's X-Request-Id, if any.
	requestID    span
	hasRequestID bool
}

// maxPlainBody is the largest request body of a call on the gateway's
// own path: the body is read whole before the call goes to the instance.
// Calls with bigger bodies go through net/http's server, which streams
// them.
const maxPlainBody = 64 << 10

// tchar marks the characters of an HTTP token (RFC 9110, 5.6.2).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// valueChar reports whether c may appear in a header value: anything but
// control characters, horizontal tab excepted.
func valueChar(c byte) bool { return c == '\t' || (c >= ' ' && c != 0x7f) }

// targetChar reports whether c may appear in a plain call's request
// target: visible ASCII but the fragment mark.
func targetChar(c byte) bool { return c > ' ' && c < 0x7f && c != '#' }

// hostChar reports whether c may appear in a plain call's Host header;
// anything more exotic goes to net/http's own check.
func hostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
}

// Verdicts of scanRequestHead besides a head's length.
const (
	headIncomplete = -1 // more bytes are needed
	headNotPlain   = -2 // net/http's server is to take the connection
)

// scanRequestHead looks for the end of a plain call's head at the start
// of b. It returns the head's length, headIncomplete, or headNotPlain as
// soon as the bytes show it is not one: a request line that is not for
// /f/, or a line ending in a bare LF. from is where an earlier scan of a
// prefix of b stopped; it returns where to go on from next time.
func scanRequestHead(b []byte, from int) (n, next int) {
	if from == 0 {
		// The request line, as far as it has come, must read
		// "METHOD /f/"; decide as soon as it cannot.
		i := 0
		for i < len(b) && tchar[b[i]] {
			i++
		}
		if i < len(b) && (i == 0 || b[i] != ' ') {
			return headNotPlain, 0
		}
		if i < len(b) {
			rest := b[i+1:]
			const prefix = "/f/"
			m := min(len(rest), len(prefix))
			if string(rest[:m]) != prefix[:m] {
				return headNotPlain, 0
			}
		}
	}
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i == 0 || b[i-1] != '\r' {
			return headNotPlain, 0
		}
		// An empty line ends the head; the first line is never empty.
		if i >= 3 && b[i-3] == '\r' && b[i-2] == '\n' {
			return i + 1, 0
		}
	}
	// Go on from the last byte: it may be the CR of a CRLF.
	return headIncomplete, max(0, len(b)-1)
}

// parseRequestHead parses a head scanRequestHead found, b ending with its
// empty line, into h. It reports false for anything but a plain call:
// then b is to be handed to net/http's server unread.
func parseRequestHead(b []byte, h *requestHead) bool {
	*h = requestHead{lines: h.lines[:0], contentLength: 0}
	// Request line: METHOD SP target SP HTTP/1.1 CRLF.
	i := 0
	for i < len(b) && tchar[b[i]] {
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ' ' {
		return false
	}
	h.method = span{0, i}
	i++
	start := i
	for i < len(b) && targetChar(b[i]) {
		i++
	}
	h.target = span{start, i}
	if !bytes.HasPrefix(h.target.of(b), []byte("/f/")) || !validEscapes(h.target.of(b)) {
		return false
	}
	const version = " HTTP/1.1\r\n"
	if !bytes.HasPrefix(b[i:], []byte(version)) {
		return false
	}
	i += len(version)
	hosts, lengths := 0, 0
	for {
		if i+1 >= len(b) {
			return false
		}
		if b[i] == '\r' && b[i+1] == '\n' {
			break // the empty line
		}
		line, ok := parseHeaderLine(b, i)
		if !ok {
			return false
		}
		i = line.value.end
		// Skip the value's trailing white space and the CRLF.
		for b[i] != '\r' {
			i++
		}
		i += 2
		name := line.name.of(b)
		value := line.value.of(b)
		switch {
		case equalFold(name, "host"):
			hosts++
			for _, c := range value {
				if !hostChar(c) {
					return false
				}
			}
			h.host = line.value
			line.kind = hdrPass
		case equalFold(name, "content-length"):
			lengths++
			n, ok := parseLength(value)
			if !ok || n > maxPlainBody {
				return false
			}
			h.contentLength = n
			line.kind = hdrLength
		case equalFold(name, "transfer-encoding"), equalFold(name, "upgrade"),
			equalFold(name, "expect"):
			// Bodies of unknown length, protocol switches and expectations
			// are net/http's to serve.
			return false
		case equalFold(name, "connection"):
			closeConn, ok := connectionTokens(value)
			if !ok {
				return false
			}
			h.close = h.close || closeConn
			line.kind = hdrDrop
		case equalFold(name, "te"):
			// Only "TE: trailers" says anything to the function.
			line.kind = hdrDrop
			if equalFold(bytes.TrimSpace(value), "trailers") {
				line.kind = hdrPass
			}
		case equalFold(name, "authorization"):
			line.kind = hdrAuth
		case equalFold(name, "x-request-id"):
			if !h.hasRequestID {
				h.requestID, h.hasRequestID = line.value, true
			}
			line.kind = hdrRequestID
		case isDroppedRequestHeader(name):
			line.kind = hdrDrop
		default:
			line.kind = hdrPass
		}
		h.lines = append(h.lines, line)
	}
	if i+2 != len(b) {
		return false
	}
	return hosts == 1 && lengths <= 1
}

// validEscapes reports whether every % in the path of a request target
// starts an escape of two hex digits, as net/http requires.
func validEscapes(target []byte) bool {
	path, _, _ := bytes.Cut(target, []byte("?"))
	for i := 0; i < len(path); i++ {
		if path[i] == '%' {
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isDroppedRequestHeader reports whether a caller's header stays with the
// gateway: hop-by-hop headers, and the forwarding headers the gateway
// writes itself rather than trust the caller's.
func isDroppedRequestHeader(name []byte) bool {
	switch len(name) {
	case 7:
		return equalFold(name, "trailer")
	case 9:
		return equalFold(name, "forwarded")
	case 10:
		return equalFold(name, "keep-alive")
	case 15:
		return equalFold(name, "x-forwarded-for")
	case 16:
		return equalFold(name, "proxy-connection") || equalFold(name, "x-forwarded-host")
	case 17:
		return equalFold(name, "x-forwarded-proto")
	case 18:
		return equalFold(name, "proxy-authenticate")
	case 19:
		return equalFold(name, "proxy-authorization")
	}
	return false
}

// parseHeaderLine parses the header line at b[i:], which the caller knows
// ends in CRLF, into name and value spans, the value without its leading
// and trailing white space.
func parseHeaderLine(b []byte, i int) (headerLine, bool) {
	start := i
	for i < len(b) && tchar[b[i]] {
		i++
	}
	if i == start || i >= len(b) || b[i] != ':' {
		// Also folded lines, which start with white space.
		return headerLine{}, false
	}
	line := headerLine{name: span{start, i}}
	i++
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	vstart := i
	for i < len(b) && b[i] != '\r' && b[i] != '\n' {
		if !valueChar(b[i]) {
			return headerLine{}, false
		}
		i++
	}
	if i+1 >= len(b) || b[i] != '\r' || b[i+1] != '\n' {
		return headerLine{}, false
	}
	vend := i
	for vend > vstart && (b[vend-1] == ' ' || b[vend-1] == '\t') {
		vend--
	}
	line.value = span{vstart, vend}
	return line, true
}

// connectionTokens reads a Connection header: close says whether it asks
// to close; ok is false for any token but close and keep-alive, which
// would name more hop-by-hop headers.
func connectionTokens(v []byte) (closeConn, ok bool) {
	for len(v) > 0 {
		tok, rest, _ := bytes.Cut(v, []byte(","))
		v = rest
		tok = bytes.TrimSpace(tok)
		switch {
		case len(tok) == 0, equalFold(tok, "keep-alive"):
		case equalFold(tok, "close"):
			closeConn = true
		default:
			return false, false
		}
	}
	return closeConn, true
}

// parseLength parses a Content-Length value: digits only, at most 18 of
// them.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// equalFold reports whether b equals the lower-case ASCII s, ignoring
// the case of b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// responseHead is an instance's answer's head.
type responseHead struct {
	status int
	// statusLine is the status code and reason, as in "200 OK".
	statusLine span
	lines      []headerLine
	// contentLength is the body's length, or -1 when the head gives none.
	contentLength int64
	chunked       bool
	// close is set when the instance will close the connection after
	// the answer, so that it cannot serve another call.
	close bool
	// connectionNames are the headers the answer's Connection header
	// names: hop-by-hop, not forwarded.
	connectionNames []span
}

// errBadAnswer is the error of an answer the gateway cannot forward.
var errBadAnswer = pool.ErrBadAnswer

// parseResponseHead parses the head of an answer, b ending with its empty
// line; lines may end in CRLF or a bare LF.
func parseResponseHead(b []byte, h *responseHead) error {
	*h = responseHead{lines: h.lines[:0], connectionNames: h.connectionNames[:0], contentLength: -1}
	line, i := nextLine(b, 0)
	var http11 bool
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
		http11 = true
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
	default:
		return errBadAnswer
	}
	status := line[len("HTTP/1.1 "):]
	if len(status) < 3 || (len(status) > 3 && status[3] != ' ') {
		return errBadAnswer
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 100 || status[0] == '0' {
		return errBadAnswer
	}
	for _, c := range status[3:] {
		if !valueChar(c) {
			return errBadAnswer
		}
	}
	h.status = code
	h.statusLine = span{len("HTTP/1.1 "), len(line)}
	lengths, encodings := 0, 0
	hasClose, hasKeepAlive := false, false
	for {
		start := i
		line, i = nextLine(b, i)
		if line == nil {
			return errBadAnswer // no empty line: not a whole head
		}
		if len(line) == 0 {
			break
		}
		nameEnd := 0
		for nameEnd < len(line) && tchar[line[nameEnd]] {
			nameEnd++
		}
		if nameEnd == 0 || nameEnd >= len(line) || line[nameEnd] != ':' {
			return errBadAnswer
		}
		v := nameEnd + 1
		for v < len(line) && (line[v] == ' ' || line[v] == '\t') {
			v++
		}
		vend := len(line)
		for vend > v && (line[vend-1] == ' ' || line[vend-1] == '\t') {
			vend--
		}
		for _, c := range line[v:vend] {
			if !valueChar(c) {
				return errBadAnswer
			}
		}
		hl := headerLine{name: span{start, start + nameEnd}, value: span{start + v, start + vend}}
		name, value := hl.name.of(b), hl.value.of(b)
		switch {
		case equalFold(name, "content-length"):
			lengths++
			n, ok := parseLength(value)
			if !ok {
				return errBadAnswer
			}
			h.contentLength = n
			hl.kind = hdrLength
		case equalFold(name, "transfer-encoding"):
			encodings++
			if !equalFold(value, "chunked") {
				return errBadAnswer
			}
			h.chunked = true
			hl.kind = hdrChunked
		case equalFold(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFold(tok, "close"):
					hasClose = true
				case equalFold(tok, "keep-alive"):
					hasKeepAlive = true
				case len(tok) > 0:
					off := hl.value.start + bytes.Index(value, tok)
					h.connectionNames = append(h.connectionNames, span{off, off + len(tok)})
				}
			}
			hl.kind = hdrDrop
		case equalFold(name, "keep-alive"), equalFold(name, "proxy-connection"),
			equalFold(name, "upgrade"), equalFold(name, "te"),
			equalFold(name, "proxy-authenticate"), equalFold(name, "x-request-id"):
			hl.kind = hdrDrop
		default:
			hl.kind = hdrPass
		}
		h.lines = append(h.lines, hl)
	}
	// Both framings at once, or chunking in HTTP/1.0, which net/http
	// would read otherwise, are refused: the two must never disagree.
	// close wins over keep-alive; HTTP/1.0 closes unless asked not to.
	h.close = hasClose || (!http11 && !hasKeepAlive)
	if i != len(b) || lengths > 1 || encodings > 1 || (lengths == 1 && encodings == 1) ||
		(encodings > 0 && !http11) {
		return errBadAnswer
	}
	for k := range h.lines {
		for _, n := range h.connectionNames {
			if h.lines[k].kind == hdrPass && equalFoldBytes(h.lines[k].name.of(b), n.of(b)) {
				h.lines[k].kind = hdrDrop
			}
		}
	}
	return nil
}

// nextLine returns the line of b at i without its CRLF or LF, and where
// the next one starts; nil at the end of b or for a line without an end.
func nextLine(b []byte, i int) ([]byte, int) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return nil, len(b)
	}
	line := b[i : i+j]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, i + j + 1
}

// equalFoldBytes is bytes.EqualFold for ASCII.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// responseHasBody reports whether an answer of this status to this
// method carries a body (RFC 9112, 6.3).
func responseHasBody(method []byte, status int) bool {
	return string(method) != "HEAD" && status != 204 && status != 304 && status >= 200
}
