// Package layerzip writes a Lambda layer archive holding one extension: the
// executable at extensions/<name>, mode 0755, which is where Lambda looks
// for external extensions (/opt/extensions once the layer is attached).
package layerzip

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// Write writes a layer with the executable at exe as extensions/name to w.
// The archive is reproducible: the entry's time is fixed.
func Write(w io.Writer, exe, name string) error {
	f, err := os.Open(exe)
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	defer f.Close()
	zw := zip.NewWriter(w)
	for _, dir := range []string{"extensions/"} {
		h := &zip.FileHeader{Name: dir, Method: zip.Store, Modified: time.Unix(0, 0).UTC()}
		h.SetMode(0o755 | os.ModeDir)
		if _, err := zw.CreateHeader(h); err != nil {
			return fmt.Errorf("layer: %w", err)
		}
	}
	h := &zip.FileHeader{Name: path.Join("extensions", name), Method: zip.Deflate, Modified: time.Unix(0, 0).UTC()}
	h.SetMode(0o755)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	if _, err := io.Copy(dst, f); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	return nil
}
