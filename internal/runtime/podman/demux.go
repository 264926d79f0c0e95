package podman

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Stream ids in the header of an attach frame.
const (
	streamStdout = 1
	streamStderr = 2
)

// frameHeaderLen is the size of an attach frame's header: the stream id,
// three zero bytes, and the payload length as a big-endian uint32.
const frameHeaderLen = 8

// demux copies the frames of a multiplexed attach stream to stdout and
// stderr until r ends. Each payload goes through a small buffer as it
// arrives, so a frame of any size (Podman sends a long line as one frame)
// costs no more memory than a short one. Frames of other streams are
// skipped.
//
// A writer that fails gets nothing more, but the stream is still read to
// its end: an attachment that stopped reading could stall the container's
// output. demux returns nil at a clean end between frames, else the read
// error, else the first write error.
func demux(r io.Reader, stdout, stderr io.Writer) error {
	out := &stickyWriter{w: stdout}
	errOut := &stickyWriter{w: stderr}
	var header [frameHeaderLen]byte
	buf := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.Join(out.err, errOut.err)
			}
			return fmt.Errorf("read frame header: %w", err)
		}
		w := io.Discard
		switch header[0] {
		case streamStdout:
			w = out
		case streamStderr:
			w = errOut
		}
		size := int64(binary.BigEndian.Uint32(header[4:]))
		n, err := io.CopyBuffer(w, io.LimitReader(r, size), buf)
		if err == nil && n < size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("read frame payload: %w", err)
		}
	}
}

// stickyWriter passes writes on until the first failure, then swallows
// them, keeping that failure in err. Its own Write never fails, so that a
// copy into it stops only on a read error.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err == nil {
		if _, err := s.w.Write(p); err != nil {
			s.err = fmt.Errorf("write output: %w", err)
		}
	}
	return len(p), nil
}
