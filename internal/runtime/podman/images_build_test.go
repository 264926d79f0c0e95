package podman

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testImageID = "e627b9d1e324ae4e3257e0a1d9a2f49b327725f2bfc4340457608643707f56d9"

func TestReadBuildStream(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantID  string
		wantLog string
		wantErr string
	}{
		{
			name: "success",
			in: `{"stream":"STEP 1/2: FROM scratch\n"}
{"stream":"COMMIT x\n"}
{"stream":"` + testImageID + `\n"}`,
			wantID:  testImageID,
			wantLog: "STEP 1/2: FROM scratch\nCOMMIT x\n" + testImageID + "\n",
		},
		{
			name:    "aux-id",
			in:      `{"stream":"done\n"}{"aux":{"ID":"sha256:` + testImageID + `"}}`,
			wantID:  testImageID,
			wantLog: "done\n",
		},
		{
			name: "error",
			in: `{"stream":"STEP 2/2: RUN go build\n"}
{"stream":"main.go:3:1: syntax error\n"}
{"errorDetail":{"message":"building at STEP \"RUN go build\": exit status 1\n"},"error":"building at STEP \"RUN go build\": exit status 1\n"}`,
			wantLog: "STEP 2/2: RUN go build\nmain.go:3:1: syntax error\nbuilding at STEP \"RUN go build\": exit status 1\n",
			wantErr: `building at STEP "RUN go build": exit status 1`,
		},
		{
			name:    "no-id",
			in:      `{"stream":"STEP 1/1: FROM scratch\n"}`,
			wantLog: "STEP 1/1: FROM scratch\n",
			wantErr: errNoImageID.Error(),
		},
		{
			name:    "not-json",
			in:      `{"stream":"ok\n"} garbage`,
			wantLog: "ok\n",
			wantErr: "read build output",
		},
		{
			name:    "hex-line-not-id",
			in:      `{"stream":"` + strings.ToUpper(testImageID) + `\n"}`,
			wantLog: strings.ToUpper(testImageID) + "\n",
			wantErr: errNoImageID.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			id, err := readBuildStream(strings.NewReader(tt.in), &log)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("readBuildStream() error = %v, want %q", err, tt.wantErr)
			}
			if id != tt.wantID {
				t.Errorf("readBuildStream() id = %q, want %q", id, tt.wantID)
			}
			if diff := cmp.Diff(tt.wantLog, log.String()); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildErrorEndsWithLastError: the error of a failed build ends with
// the build's last error line, as runtime.Driver promises, even when
// wrapped.
func TestBuildErrorEndsWithLastError(t *testing.T) {
	in := `{"error":"first\n"}{"error":"second failure\n"}`
	_, err := readBuildStream(strings.NewReader(in), &bytes.Buffer{})
	var be *BuildError
	if !errors.As(err, &be) || be.Message != "second failure" {
		t.Fatalf("readBuildStream() = %v, want a *BuildError with the last error", err)
	}
}

func TestBuildParamsQuery(t *testing.T) {
	p := buildParams{
		Tag:           "localhost/x:1",
		Containerfile: "build/Containerfile",
		Labels:        map[string]string{"a": "b"},
		BuildArgs:     map[string]string{"GO": "1.26"},
		MemoryBytes:   1 << 30,
		KeepLayers:    true,
	}
	q, err := p.query()
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"t":            {"localhost/x:1"},
		"dockerfile":   {"build/Containerfile"},
		"labels":       {`{"a":"b"}`},
		"buildargs":    {`{"GO":"1.26"}`},
		"memory":       {"1073741824"},
		"outputformat": {ociManifest},
		"layers":       {"true"},
		"rm":           {"true"},
		"forcerm":      {"true"},
	}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("query() (-want +got):\n%s", diff)
	}
}

// FuzzReadBuildStream: any build output is read without panicking, and
// a success always names a well-formed image id.
func FuzzReadBuildStream(f *testing.F) {
	f.Add(`{"stream":"` + testImageID + `\n"}`)
	f.Add(`{"error":"x"}`)
	f.Add(`{"aux":{"ID":"sha256:abc"}}`)
	f.Add(`{"stream":`)
	f.Fuzz(func(t *testing.T, in string) {
		id, err := readBuildStream(strings.NewReader(in), &bytes.Buffer{})
		if err == nil && id == "" {
			t.Errorf("readBuildStream(%q) succeeded without an id", in)
		}
	})
}
