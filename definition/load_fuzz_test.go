package definition_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-ml/slipway/definition"
)

// FuzzLoadDir loads one definition file of any content. LoadDir must never
// panic, and every problem it reports must name the file and a line in it.
// It starts from the test inputs: the valid projects and every bad input of
// TestBadInput, TestModelBadInput, TestEndpointBadInput, TestExperimentBadInput and TestYAMLErrorLines' kinds.
func FuzzLoadDir(f *testing.F) {
	f.Add([]byte(baseYAML))
	f.Add([]byte(sourceYAML))
	f.Add([]byte(amountYAML))
	for _, tc := range badInputs {
		if tc.edit != nil {
			f.Add([]byte(tc.edit(baseYAML)))
		}
	}
	f.Add([]byte(modelYAML))
	for _, tc := range badModels {
		f.Add([]byte("models:\n  - name: m\n    training_set: ts_amount\n    " + tc.yaml))
	}
	f.Add([]byte(endpointYAML))
	for _, tc := range badEndpoints {
		f.Add([]byte("endpoints:\n" + tc.yaml))
	}
	f.Add([]byte(experimentYAML))
	for _, tc := range badExperiments {
		f.Add([]byte("experiments:\n" + tc.yaml))
	}
	for _, tc := range badMonitors {
		f.Add([]byte("monitors:\n" + tc.yaml))
	}
	files, err := filepath.Glob("../demo/project/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("the demo project's definitions: %v, %v", files, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"---\n",
		"- a\n",
		"entities:\n  - name: a\n---\nentities:\n  - name: b\n   owner: z\n",
		"entities:\n  - name: a\n    description: \"x\n",
		"features: {}\n",
		"entities:\n  - [1, 2]\n  - 3\n  - name: {x: y}\n",
		"transformations:\n  - name: t\n    sql: SELECT {{ }} {{ a:b:c }} {{\n",
		"entities:\n  - &a {name: x}\n  - *a\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir() // one per fuzzing process, which runs inputs one at a time
	file := filepath.Join(dir, "defs.yaml")
	f.Fuzz(func(t *testing.T, content []byte) {
		// sql_file may name any file: keep the fuzzer off devices.
		if bytes.Contains(content, []byte("/dev")) || bytes.Contains(content, []byte("/proc")) {
			t.Skip()
		}
		if err := os.WriteFile(file, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := definition.LoadDir(dir)
		if err == nil {
			return
		}
		var errs definition.Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("LoadDir error is not definition.Errors: %v", err)
		}
		lines := bytes.Count(content, []byte("\n")) + 1
		for _, e := range errs {
			if e.Pos.File != file || e.Pos.Line < 1 || e.Pos.Line > lines || e.Msg == "" {
				t.Errorf("error %q does not name a line of %s (%d lines): %+v", e, file, lines, e.Pos)
			}
		}
	})
}
