package demo

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// project holds the example definitions over the demo data: entities,
// sources for every generated file, transformations in DuckDB SQL, features,
// the purchased_7d and spend_7d labels, their training sets, and the
// purchase_model and spend_model models (built-in trainers).
//
//go:embed project
var project embed.FS

// Project returns the embedded example definitions, rooted at the definition
// directory (entities.yaml, sources.yaml, sql/…).
func Project() fs.FS {
	sub, err := fs.Sub(project, "project")
	if err != nil {
		panic(fmt.Sprintf("embedded demo project: %v", err))
	}
	return sub
}

// WriteProject writes the example definitions into dir/definitions/. Their
// sources read the files Generate writes into dir/data/, so a demo project is
//
//	WriteProject(dir)
//	Generate(ctx, filepath.Join(dir, "data"), opts)
//
// Existing files that differ from the example (edited by the user) are kept
// as they are and returned in kept.
func WriteProject(dir string) (kept []string, err error) {
	root := filepath.Join(dir, "definitions")
	err = fs.WalkDir(Project(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(root, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(Project(), path)
		if err != nil {
			return err
		}
		// A file the user changed is theirs: never overwrite it.
		if old, err := os.ReadFile(target); err == nil && !bytes.Equal(old, b) {
			kept = append(kept, target)
			return nil
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return kept, fmt.Errorf("writing demo definitions: %w", err)
	}
	return kept, nil
}
