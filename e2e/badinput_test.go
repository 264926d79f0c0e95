package e2e

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerpub/containerpub/client"
)

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goodFiles are the files of a valid function, to add bad entries to.
func goodFiles(name, runtime string) []tarEntry {
	manifest := "name: " + name + "\n"
	if runtime != "" {
		manifest += "runtime: " + runtime + "\n"
	}
	return []tarEntry{
		{name: "containerpub.yaml", typeflag: tar.TypeReg, body: manifest},
		{name: "go.mod", typeflag: tar.TypeReg, body: "module example.com/" + name + "\n\ngo 1.22\n"},
		{name: "handler.go", typeflag: tar.TypeReg, body: "package function\n\nimport \"net/http\"\n\n" +
			"func Handle(w http.ResponseWriter, r *http.Request) { w.Write([]byte(\"ok\")) }\n"},
	}
}

// TestBadInput sends every kind of bad request the issue lists and checks
// each gets a clear 4xx that names the problem and changes nothing.
func TestBadInput(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			b := startBackend(t, db.url(t), "CONTAINERPUB_MAX_UPLOAD_MB=1", "CONTAINERPUB_MAX_UNPACKED_MB=2")
			testBadInput(t, b)
		})
	}
}

func testBadInput(t *testing.T, b *backend) {
	u := newUser(t, b)
	api := u.api(t)
	ctx := context.Background()
	if _, err := api.CreateFunction(ctx, client.CreateFunctionRequest{Name: "victim"}); err != nil {
		t.Fatal(err)
	}

	var zipBuf bytes.Buffer
	zw := zip.NewWriter(&zipBuf)
	w, _ := zw.Create("../escape.txt")
	w.Write([]byte("x"))
	zw.Close()

	bomb := func() []byte {
		var buf bytes.Buffer
		gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		tw := tar.NewWriter(gz)
		for _, e := range goodFiles("victim", "") {
			tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))})
			tw.Write([]byte(e.body))
		}
		size := int64(50 << 20)
		tw.WriteHeader(&tar.Header{Name: "zeros.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
		zeros := make([]byte, 1<<20)
		for i := int64(0); i < size>>20; i++ {
			tw.Write(zeros)
		}
		tw.Close()
		gz.Close()
		return buf.Bytes()
	}()

	huge := make([]byte, 2<<20)
	for i := range huge {
		huge[i] = byte(i*7919 + i>>8)
	}

	tests := []struct {
		name    string
		archive []byte
		status  int
		want    string
	}{
		{"not_an_archive", []byte("just some text, not an archive"), 400, "zip or tar.gz"},
		{"empty_upload", nil, 400, "empty"},
		{"unknown_runtime", tarGz(t, goodFiles("victim", "rust")...), 400, "rust"},
		{"dotdot_entry", tarGz(t, append(goodFiles("victim", ""), tarEntry{name: "../evil.go", typeflag: tar.TypeReg, body: "x"})...), 400, "evil.go"},
		{"absolute_entry", tarGz(t, append(goodFiles("victim", ""), tarEntry{name: "/etc/evil", typeflag: tar.TypeReg, body: "x"})...), 400, "/etc/evil"},
		{"device_entry", tarGz(t, append(goodFiles("victim", ""), tarEntry{name: "dev", typeflag: tar.TypeChar})...), 400, "dev"},
		{"symlink_outside", tarGz(t, append(goodFiles("victim", ""), tarEntry{name: "link", typeflag: tar.TypeSymlink, link: "../../etc/passwd"})...), 400, "link"},
		{"zip_slip", zipBuf.Bytes(), 400, "escape.txt"},
		{"over_upload_limit", huge, 413, "limit"},
		{"zip_bomb", bomb, 413, ""},
		{"missing_manifest", tarGz(t, goodFiles("victim", "")[1:]...), 400, client.ManifestFile},
		{"wrong_name_in_manifest", tarGz(t, goodFiles("other", "")...), 400, "other"},
		{"reserved_main_dir_link", tarGz(t, append(goodFiles("victim", ""), tarEntry{name: client.GoMainDir, typeflag: tar.TypeSymlink, link: "nowhere"})...), 400, client.GoMainDir},
		{"zip_with_too_many_entries", manyEntriesZip(10001), 413, "entries"},
		{"no_handle", tarGz(t, append(goodFiles("victim", "")[:2], tarEntry{name: "handler.go", typeflag: tar.TypeReg, body: "package function\n"})...), 400, "Handle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.Deploy(ctx, "victim", bytes.NewReader(tt.archive), int64(len(tt.archive)), "application/gzip")
			if !isStatus(err, tt.status) {
				t.Fatalf("deploy: err = %v, want status %d", err, tt.status)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("deploy: err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
	// Nothing was stored: no deployment, no archive.
	deps, err := api.ListDeployments(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 0 {
		t.Errorf("bad uploads left %d deployments", len(deps))
	}
	if entries, _ := os.ReadDir(filepath.Join(b.DataDir, "storage", "archives")); len(entries) != 0 {
		t.Errorf("bad uploads left archives: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(b.DataDir, "tmp")); len(entries) != 0 {
		t.Errorf("bad uploads left temporary files: %v", entries)
	}

	t.Run("invalid_names", func(t *testing.T) {
		for _, name := range []string{"Hello", "-x", "x-", "a_b", "", strings.Repeat("a", 64), "a/b", "a b"} {
			if _, err := api.CreateFunction(ctx, client.CreateFunctionRequest{Name: name}); !isStatus(err, 400) {
				t.Errorf("create %q: err = %v, want 400", name, err)
			}
		}
	})
	t.Run("duplicate_name", func(t *testing.T) {
		if _, err := api.CreateFunction(ctx, client.CreateFunctionRequest{Name: "victim"}); !isStatus(err, http.StatusConflict) {
			t.Errorf("second victim: err = %v, want 409", err)
		}
	})
	t.Run("credentials", func(t *testing.T) {
		for _, tc := range []struct {
			password string
			status   int
		}{
			{strings.Repeat("p", 300), http.StatusBadRequest},
			{strings.Repeat("p", 1<<20), http.StatusRequestEntityTooLarge},
		} {
			body, _ := json.Marshal(client.Credentials{Email: u.email, Password: tc.password})
			resp, err := http.Post(b.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("login with a %d-byte password = %d %q, want %d", len(tc.password), resp.StatusCode, msg, tc.status)
			}
		}
	})
	t.Run("tokens", func(t *testing.T) {
		for _, tok := range []string{"", "cpt_not-a-real-token", "garbage"} {
			if _, err := client.New(b.URL, tok).ListFunctions(ctx); !isStatus(err, http.StatusUnauthorized) {
				t.Errorf("list with token %q: err = %v, want 401", tok, err)
			}
		}
	})
}

// TestExpiredToken checks a token stops working when its session ends.
func TestExpiredToken(t *testing.T) {
	b := startBackend(t, "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"), "CONTAINERPUB_SESSION_TTL=2s")
	u := newUser(t, b)
	api := u.api(t)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := api.ListFunctions(ctx)
		if isStatus(err, http.StatusUnauthorized) {
			break
		}
		if err != nil {
			t.Fatalf("list: err = %v, want success or 401", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a token with a 2 s lifetime still works after 30 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, _, code := u.run(t, "", "list"); code == 0 {
		t.Errorf("the CLI listed functions with an expired token")
	}
}

// manyEntriesZip returns a zip of n empty files.
func manyEntriesZip(n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%05d", i), Method: zip.Store}); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
