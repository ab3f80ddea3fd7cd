package layerzip

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(exe, []byte("\x7fELF binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := Write(&a, exe, "lambdaotel-extension"); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, exe, "lambdaotel-extension"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the archive must be reproducible")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range zr.File {
		if f.Name != "extensions/lambdaotel-extension" {
			continue
		}
		found = true
		if f.Mode().Perm() != 0o755 {
			t.Fatalf("mode %v: Lambda runs only executables", f.Mode())
		}
		rc, _ := f.Open()
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "\x7fELF binary" {
			t.Fatalf("content %q", got)
		}
	}
	if !found {
		t.Fatal("no extensions/lambdaotel-extension entry")
	}
	if err := Write(io.Discard, filepath.Join(t.TempDir(), "missing"), "x"); err == nil {
		t.Fatal("a missing executable must fail")
	}
}
