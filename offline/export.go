package offline

import (
	"os"
	"path/filepath"
)

// PartialPath reserves a unique temporary file next to path for an export to
// be written into and then renamed over path, so readers never see a
// half-written file and two exports to one path never share a temporary file.
// The caller removes it if the export fails.
func PartialPath(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return "", err
	}
	name := f.Name()
	return name, f.Close()
}
