package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// project holds the example definitions over the demo data: entities,
// sources for every generated file, transformations in DuckDB SQL, features,
// the purchased_7d label and the purchase_propensity training set.
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
// Existing files with the same names are overwritten.
func WriteProject(dir string) error {
	root := filepath.Join(dir, "definitions")
	err := fs.WalkDir(Project(), ".", func(path string, d fs.DirEntry, err error) error {
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
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("writing demo definitions: %w", err)
	}
	return nil
}
