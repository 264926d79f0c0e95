package podman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// frame encodes one attach frame.
func frame(stream byte, payload string) []byte {
	h := make([]byte, frameHeaderLen, frameHeaderLen+len(payload))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func frames(fs ...[]byte) []byte {
	return bytes.Join(fs, nil)
}

func TestDemux(t *testing.T) {
	big := strings.Repeat("y", 3<<20)
	tests := []struct {
		name       string
		in         []byte
		wantOut    string
		wantErrOut string
		wantErr    bool
	}{
		{"empty", nil, "", "", false},
		{"one-stdout", frame(1, "hello\n"), "hello\n", "", false},
		{"both-streams", frames(frame(1, "a"), frame(2, "b"), frame(1, "c")), "ac", "b", false},
		{"empty-payload", frames(frame(1, ""), frame(2, "x")), "", "x", false},
		{"stdin-and-unknown-skipped", frames(frame(0, "in"), frame(3, "sys"), frame(1, "out")), "out", "", false},
		{"binary", frame(1, "\x00\x01\xff\n\r"), "\x00\x01\xff\n\r", "", false},
		{"big-frame", frame(2, big), "", big, false},
		{"cut-header", frame(1, "abc")[:5], "", "", true},
		{"cut-payload", frame(1, "abcdef")[:10], "ab", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := demux(bytes.NewReader(tt.in), &out, &errOut)
			if (err != nil) != tt.wantErr {
				t.Fatalf("demux() error = %v, want error %v", err, tt.wantErr)
			}
			if out.String() != tt.wantOut || errOut.String() != tt.wantErrOut {
				t.Errorf("demux() = stdout %d bytes, stderr %d bytes; want %d, %d",
					out.Len(), errOut.Len(), len(tt.wantOut), len(tt.wantErrOut))
			}
		})
	}
}

// failingWriter fails every write.
type failingWriter struct{ writes int }

var errWrite = errors.New("writer broke")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errWrite
}

// TestDemuxWriterFails: a broken writer does not stop the stream for the
// other writer, and its error is reported at the end.
func TestDemuxWriterFails(t *testing.T) {
	in := frames(frame(1, "lost"), frame(2, "kept1"), frame(1, "lost"), frame(2, "kept2"))
	bad := &failingWriter{}
	var errOut bytes.Buffer
	err := demux(bytes.NewReader(in), bad, &errOut)
	if !errors.Is(err, errWrite) {
		t.Errorf("demux() = %v, want the write error", err)
	}
	if got := errOut.String(); got != "kept1kept2" {
		t.Errorf("stderr = %q, want kept1kept2", got)
	}
	if bad.writes != 1 {
		t.Errorf("broken writer got %d writes, want 1", bad.writes)
	}
}

// TestDemuxSmallReads: frames split across reads at every byte still
// come out whole.
func TestDemuxSmallReads(t *testing.T) {
	in := frames(frame(1, "one\n"), frame(2, "two\n"), frame(1, "three\n"))
	var out, errOut bytes.Buffer
	if err := demux(iotest.OneByteReader(bytes.NewReader(in)), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	got := [2]string{out.String(), errOut.String()}
	if diff := cmp.Diff([2]string{"one\nthree\n", "two\n"}, got); diff != "" {
		t.Errorf("demux() (-want +got):\n%s", diff)
	}
}

// FuzzDemux: any input either demultiplexes or fails cleanly, and never
// yields more payload bytes than it held.
func FuzzDemux(f *testing.F) {
	f.Add(frames(frame(1, "a"), frame(2, "b")))
	f.Add(frame(1, "abcdef")[:10])
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out, errOut bytes.Buffer
		_ = demux(bytes.NewReader(in), &out, &errOut)
		if out.Len()+errOut.Len() > len(in) {
			t.Errorf("demux(%d bytes) wrote %d bytes", len(in), out.Len()+errOut.Len())
		}
	})
}

// FuzzDemuxRoundTrip: frames encoded from arbitrary payloads come back
// exactly.
func FuzzDemuxRoundTrip(f *testing.F) {
	f.Add([]byte("out"), []byte("err"), uint8(3))
	f.Fuzz(func(t *testing.T, a, b []byte, pattern uint8) {
		var in []byte
		var wantOut, wantErr []byte
		for i := range 8 {
			p := a
			stream := byte(1)
			if pattern&(1<<i) != 0 {
				p, stream = b, 2
			}
			in = append(in, frame(stream, string(p))...)
			if stream == 1 {
				wantOut = append(wantOut, p...)
			} else {
				wantErr = append(wantErr, p...)
			}
		}
		var out, errOut bytes.Buffer
		if err := demux(bytes.NewReader(in), &out, &errOut); err != nil {
			t.Fatalf("demux() = %v", err)
		}
		if !bytes.Equal(out.Bytes(), wantOut) || !bytes.Equal(errOut.Bytes(), wantErr) {
			t.Errorf("round trip lost bytes: got %d/%d, want %d/%d", out.Len(), errOut.Len(), len(wantOut), len(wantErr))
		}
	})
}
