package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstartNeverOverwritesOtherFiles runs the quickstart without --dir
// in a directory holding someone's files (including a data/orders.csv it
// would write): it refuses, says what to do, and changes nothing.
func TestQuickstartNeverOverwritesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	mine := map[string]string{"notes.txt": "my notes\n", "data/orders.csv": "order_id\nmine\n"}
	for name, text := range mine {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	r := slipway(t, dir, "quickstart", "--scale", "0.05")
	if r.code == 0 {
		t.Fatalf("quickstart in a directory with other files succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "--dir") || !strings.Contains(r.stderr, "did not write") {
		t.Errorf("error does not say what to do: %s", r.stderr)
	}
	for name, text := range mine {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != text {
			t.Errorf("%s changed to %q", name, b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("quickstart left files behind: %v", entries)
	}
}
