// Package definition reads definition files (YAML, with SQL inline or in
// .sql files) into resources, and plans them against the registry and the
// offline store: what apply would create, leave unchanged or refuse as a
// conflict. Every problem is reported with its file and line; nothing is
// written here.
package definition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway/offline"
	"github.com/slipway-ml/slipway/resource"
	"github.com/slipway-ml/slipway/value"
)

// Definition is one resource as read from a file, before its references are resolved.
type Definition struct {
	Resource *resource.Resource
	Pos      Pos
	fields   map[string]Pos // where each field's value is
	root     string         // the absolute definitions directory
	srcFile  string         // a source's file as written
	fileDir  string         // the absolute directory of the YAML file: a source's relative file is relative to it, a model's command trainer runs in it

	// Unresolved references, resolved by Plan.
	source      string   // feature/label source
	label       string   // training set
	trainingSet string   // model
	entities    string   // batch prediction
	features    []string // training set
	sqlRefs     []sqlRef // transformation
	sqlPos      Pos      // where the SQL text starts
	sqlExact    bool     // sqlPos plus a line of the SQL is a line of the file (literal block or .sql file)
}

// FieldPos returns where a field's value was written (the resource's position when it was not).
func (d *Definition) FieldPos(field string) Pos {
	if p, ok := d.fields[field]; ok {
		return p
	}
	return d.Pos
}

type sqlRef struct {
	ref  string
	line int // 0-based line within the SQL text
}

// topKeys maps a file's top-level keys to kinds.
var topKeys = map[string]resource.Kind{
	"entities":          resource.KindEntity,
	"sources":           resource.KindSource,
	"transformations":   resource.KindTransformation,
	"features":          resource.KindFeature,
	"labels":            resource.KindLabel,
	"training_sets":     resource.KindTrainingSet,
	"models":            resource.KindModel,
	"endpoints":         resource.KindEndpoint,
	"batch_predictions": resource.KindBatchPrediction,
	"experiments":       resource.KindExperiment,
	"monitors":          resource.KindMonitor,
}

var common = []string{"name", "variant", "description", "owner", "tags"}

// allowedFields lists the fields each kind accepts, beyond the common ones.
var allowedFields = map[resource.Kind][]string{
	resource.KindEntity:          nil,
	resource.KindSource:          {"file", "table", "format", "timestamp_column", "columns"},
	resource.KindTransformation:  {"sql", "sql_file", "schedule"},
	resource.KindFeature:         {"entity", "source", "entity_column", "value_column", "timestamp_column", "type", "max_age", "schedule", "lookback"},
	resource.KindLabel:           {"entity", "source", "entity_column", "value_column", "timestamp_column", "type"},
	resource.KindTrainingSet:     {"label", "features"},
	resource.KindModel:           {"training_set", "task", "trainer", "validation", "promote", "schedule", "retrain"},
	resource.KindEndpoint:        {"model", "alias"},
	resource.KindBatchPrediction: {"model", "alias", "entities", "entity_column", "schedule"},
	resource.KindExperiment:      {"endpoint", "arms", "metric", "min_samples", "auto_conclude", "review"},
	resource.KindMonitor:         {"endpoint", "checks", "schedule", "notify", "drift", "performance", "freshness", "skew"},
}

// misplacedFields explains fields that belong to other kinds, where the
// generic "unknown field" would leave the reader guessing why.
var misplacedFields = map[resource.Kind]map[string]string{
	resource.KindSource: {
		"schedule": "a source is a view over its file or table, read afresh by every query, so it has no schedule; remove it, and schedule the transformations or features that read it",
		"lookback": "lookback applies to features; remove it, and set it on the features that read this source",
	},
	resource.KindTransformation: {
		"lookback": "a transformation is rebuilt whole, so it has no lookback; remove it, and set it on the features that read this transformation",
	},
	resource.KindLabel: {
		"schedule": "labels are not materialized (a training set reads its label's rows when it is built), so a label has no schedule; remove it, or schedule the transformation the label reads",
		"lookback": "labels are not materialized (a training set reads its label's rows when it is built), so a label has no lookback; remove it",
		"max_age":  "a training set keeps every row of its label, whatever its age, so a label has no max_age; remove it, and set max_age on the features whose old values should count as missing",
	},
}

// Files are the definition files of a directory, as plan and apply read
// them: read on the client's machine (ReadFiles) and loaded where the stores
// are (Load), which is another process when the CLI goes through a server.
type Files struct {
	// Dir is the directory as the user gave it; file names in errors start with it.
	Dir string `json:"dir"`
	// Root is Dir's absolute path: a source's relative file is found from
	// there, on the machine that loads the definitions.
	Root string `json:"root"`
	// Files maps each *.yaml, *.yml and *.sql file under Dir (hidden
	// directories left out) by its slash-separated path relative to Dir to
	// its content.
	Files map[string]string `json:"files"`
}

// ReadFiles reads the definition files under dir: every *.yaml, *.yml and
// *.sql file, recursively, skipping hidden directories.
func ReadFiles(dir string) (*Files, error) {
	df := &Files{Dir: dir, Root: absPath(dir), Files: map[string]string{}}
	var yamls int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(isYAML(path) || strings.HasSuffix(path, ".sql")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		df.Files[filepath.ToSlash(rel)] = string(b)
		if isYAML(path) {
			yamls++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading definitions: %w", err)
	}
	if yamls == 0 {
		return nil, fmt.Errorf("no definition files (*.yaml, *.yml) in %s", dir)
	}
	return df, nil
}

func isYAML(path string) bool {
	return strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")
}

// LoadDir reads every *.yaml and *.yml file under dir (recursively, in path
// order): ReadFiles, then Load.
func LoadDir(dir string) ([]*Definition, error) {
	df, err := ReadFiles(dir)
	if err != nil {
		return nil, err
	}
	return df.Load()
}

// Load parses the YAML files in path order. It reports every syntax and
// field problem it finds, with file and line. A source's file is recorded
// as written, relative to the YAML file that defines it
// (resource.SourceSpec.File), whatever Dir is. A sql_file is taken from
// Files, or, when it lies outside Dir, read from Root's machine.
func (df *Files) Load() ([]*Definition, error) {
	if err := df.Check(); err != nil {
		return nil, err
	}
	var names []string
	for name := range df.Files {
		if isYAML(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var defs []*Definition
	var errs Errors
	for _, name := range names {
		ds, es := df.parseFile(name)
		defs = append(defs, ds...)
		errs = append(errs, es...)
	}
	return defs, errs.err()
}

// Check refuses Files that cannot be loaded at all, before any is parsed:
// a root that is not absolute, a file name that is not a relative path
// inside Dir, no YAML file. ReadFiles never makes such Files; they come
// from other clients (the HTTP API's plan and apply bodies).
func (df *Files) Check() error {
	if df.Root == "" || !filepath.IsAbs(df.Root) {
		return fmt.Errorf("root %q is not an absolute path: give the definitions directory's absolute path (definition.ReadFiles sets it)", df.Root)
	}
	yamls := 0
	for name := range df.Files {
		if path.IsAbs(name) || !df.local(name) {
			return fmt.Errorf("files: %q is not a path relative to the definitions directory", name)
		}
		if isYAML(name) {
			yamls++
		}
	}
	if yamls == 0 {
		return fmt.Errorf("files: no definition files (*.yaml, *.yml) in %s", df.Dir)
	}
	return nil
}

// local says whether a slash-separated relative path stays inside Dir.
func (df *Files) local(name string) bool {
	return filepath.IsLocal(filepath.FromSlash(name))
}

// display is how errors name the file at relative path name.
func (df *Files) display(name string) string {
	return filepath.Join(df.Dir, filepath.FromSlash(name))
}

// readSQL returns a sql_file named in the YAML file at relative path from.
func (df *Files) readSQL(from, sqlFile string) (display string, content []byte, err error) {
	if !filepath.IsAbs(sqlFile) {
		rel := path.Join(path.Dir(from), filepath.ToSlash(sqlFile))
		if c, ok := df.Files[rel]; ok {
			return df.display(rel), []byte(c), nil
		}
		display = filepath.Join(filepath.Dir(df.display(from)), sqlFile)
		b, err := os.ReadFile(filepath.Join(df.Root, filepath.FromSlash(rel)))
		return display, b, err
	}
	b, err := os.ReadFile(sqlFile)
	return sqlFile, b, err
}

func (df *Files) parseFile(name string) ([]*Definition, Errors) {
	file, content := df.display(name), []byte(df.Files[name])
	var errs Errors
	var defs []*Definition
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := yamlProblemLine(content, err)
			errs.add(Pos{File: file, Line: line}, "", "invalid YAML: %s", yamlErrorText(err, lineOf(content, line)))
			return defs, errs
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			continue
		}
		if top.Kind != yaml.MappingNode {
			errs.add(Pos{file, top.Line}, "", "expected a mapping with keys such as sources:, features:, training_sets:")
			continue
		}
		for i := 0; i+1 < len(top.Content); i += 2 {
			key, val := top.Content[i], top.Content[i+1]
			kind, ok := topKeys[key.Value]
			if !ok {
				errs.add(Pos{file, key.Line}, key.Value, "unknown top-level key: use entities, sources, transformations, features, labels, training_sets, models, endpoints, batch_predictions, experiments or monitors")
				continue
			}
			if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
				continue
			}
			if val.Kind != yaml.SequenceNode {
				errs.add(Pos{file, val.Line}, key.Value, "expected a list (items starting with '- ')")
				continue
			}
			for _, item := range val.Content {
				d := df.parseItem(name, kind, item, &errs)
				if d != nil {
					defs = append(defs, d)
				}
			}
		}
	}
	return defs, errs
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	return n
}

// yamlProblemLine returns the line of content where its YAML error err is.
// The parser's own line is often the start of the enclosing block, or one
// before the problem (go-yaml reports a context mark, 0-based for parser
// errors), so the line is found by parsing ever longer prefixes of content:
// the first line whose prefix fails with the same message is where the
// document stops being YAML. A prefix that fails only because it was cut
// (inside a multi-line [list]) has another message and is passed over.
func yamlProblemLine(content []byte, err error) int {
	want := yamlMessage(err)
	lines := bytes.SplitAfter(content, []byte("\n"))
	if len(lines) > 5000 {
		return yamlErrorLine(err)
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		if perr := parseAll(content[:end]); perr != nil && yamlMessage(perr) == want {
			return i + 1
		}
	}
	return yamlErrorLine(err)
}

// yamlMessage is a YAML error without its line number.
func yamlMessage(err error) string {
	return strings.TrimPrefix(yamlLine.ReplaceAllString(err.Error(), ""), "yaml: : ")
}

// parseAll parses every document of content.
func parseAll(content []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// unquoted matches a value starting with @ or *, which YAML reserves (for
// future use and for aliases), such as an unquoted schedule: @daily.
var unquoted = regexp.MustCompile(`^\s*(-\s+)?[A-Za-z0-9_]+:\s+([@*])`)

// yamlErrorText is the YAML parser's message for err, with a hint for the
// usual causes; line is the text of the line it names.
func yamlErrorText(err error, line string) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(yamlLine.ReplaceAllString(s, ""), ": ")
	if m := unquoted.FindStringSubmatch(line); m != nil {
		return s + fmt.Sprintf(" (a value starting with %q must be quoted, like schedule: \"@daily\" or schedule: \"*/15 * * * *\")", m[2])
	}
	if strings.Contains(s, "cannot start any token") {
		s += " (tabs cannot indent YAML; use spaces)"
	}
	if strings.Contains(s, "unexpected end of stream") && (strings.Count(line, `"`)%2 == 1 || strings.Count(line, "'")%2 == 1) {
		s += " (a quote opened on this line is never closed)"
	}
	return s
}

// lineOf returns line n (from 1) of content, or "".
func lineOf(content []byte, n int) string {
	lines := strings.Split(string(content), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// item is a mapping node's fields by key.
type item struct {
	file   string
	line   int // of the item, for problems with no field of their own
	kind   resource.Kind
	fields map[string]*yaml.Node
	errs   *Errors
}

func (df *Files) parseItem(name string, kind resource.Kind, n *yaml.Node, errs *Errors) *Definition {
	file := df.display(name)
	pos := Pos{file, n.Line}
	if n.Kind != yaml.MappingNode {
		errs.add(pos, "", "expected a %s definition (a mapping with name: and other fields)", kind)
		return nil
	}
	it := item{file: file, line: n.Line, kind: kind, fields: map[string]*yaml.Node{}, errs: errs}
	allowed := append(append([]string{}, common...), allowedFields[kind]...)
	d := &Definition{Pos: pos, fields: map[string]Pos{}, root: df.Root, fileDir: filepath.Join(df.Root, filepath.FromSlash(path.Dir(name)))}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" {
			errs.add(Pos{file, k.Line}, k.Value, "YAML merge keys are not supported in definitions; write the fields out")
			continue
		}
		if msg, ok := misplacedFields[kind][k.Value]; ok {
			errs.add(Pos{file, k.Line}, k.Value, "%s", msg)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			errs.add(Pos{file, k.Line}, k.Value, "unknown field for a %s; allowed: %s", kind, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := it.fields[k.Value]; dup {
			errs.add(Pos{file, k.Line}, k.Value, "field given twice")
			continue
		}
		it.fields[k.Value] = v
		d.fields[k.Value] = Pos{file, v.Line}
	}
	before := len(*errs)
	r := &resource.Resource{ID: resource.ID{Kind: kind}}
	r.Name = it.required("name")
	if r.Name != "" {
		if err := resource.ValidateName(r.Name); err != nil {
			it.fail("name", "%v", err)
		}
	}
	r.Variant = it.str("variant")
	if r.Variant == "" {
		r.Variant = resource.DefaultVariant
	} else if err := resource.ValidateVariant(r.Variant); err != nil {
		it.fail("variant", "%v", err)
	}
	r.Description = it.str("description")
	r.Owner = it.str("owner")
	r.Tags = it.list("tags")
	d.Resource = r

	switch kind {
	case resource.KindEntity:
		if r.Variant != resource.DefaultVariant {
			it.fail("variant", "entities have no variants; remove the field")
		}
	case resource.KindSource:
		s := &resource.SourceSpec{Table: it.str("table"), Format: it.str("format"), TimestampColumn: it.str("timestamp_column")}
		file := it.str("file")
		switch {
		case file != "" && s.Table != "":
			it.fail("file", "give either file or table, not both")
		case file == "" && s.Table == "":
			it.fail("", "a source needs file: (a CSV or Parquet path) or table: (an existing table)")
		case file != "":
			s.File = sourcePath(file)
			d.srcFile = file
			if s.Format == "" {
				s.Format = formatOf(file)
			}
			if s.Format != "csv" && s.Format != "parquet" {
				it.fail("format", "cannot tell the format of %q: name the file .csv or .parquet, or set format: csv|parquet", file)
			}
		case s.Format != "":
			it.fail("format", "format applies to files only; remove it")
		}
		s.Columns = it.columns()
		if s.Columns != nil && s.Format != "csv" && (file != "" || s.Table != "") {
			it.fail("columns", "declares column types for a CSV file; a Parquet file or a table has its own, so remove it (cast in a transformation instead)")
		}
		r.Source = s
	case resource.KindTransformation:
		sql, sqlFile := it.str("sql"), it.str("sql_file")
		t := &resource.TransformationSpec{}
		switch {
		case sql != "" && sqlFile != "":
			it.fail("sql", "give either sql or sql_file, not both")
		case sql == "" && sqlFile == "":
			it.fail("", "a transformation needs sql: (inline) or sql_file: (a .sql file next to this one)")
		case sql != "":
			t.SQL = sql
			d.sqlPos = Pos{it.file, it.fields["sql"].Line}
			if it.fields["sql"].Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				d.sqlPos.Line++
			}
			d.sqlExact = it.fields["sql"].Style&yaml.LiteralStyle != 0
		default:
			path, b, err := df.readSQL(name, sqlFile)
			if err != nil {
				it.fail("sql_file", "cannot read %s: %v", sqlFile, errors.Unwrap(err))
			}
			t.SQL = string(b)
			d.sqlPos, d.sqlExact = Pos{path, 1}, true
		}
		d.sqlRefs = findRefs(t.SQL)
		t.Schedule = it.schedule()
		r.Transformation = t
	case resource.KindFeature, resource.KindLabel:
		// The fields features and labels share; Plan resolves source.
		entity := it.required("entity")
		entityColumn, valueColumn := it.required("entity_column"), it.required("value_column")
		timestampColumn := it.str("timestamp_column")
		d.source = it.required("source")
		if entity != "" {
			if err := resource.ValidateName(entity); err != nil {
				it.fail("entity", "%v", err)
			}
		}
		var typ value.Type
		if t := it.required("type"); t != "" {
			var err error
			if typ, err = value.ParseType(t); err != nil {
				it.fail("type", "%v", err)
			}
		}
		if kind == resource.KindLabel {
			r.Label = &resource.LabelSpec{Entity: entity, EntityColumn: entityColumn, ValueColumn: valueColumn, TimestampColumn: timestampColumn, Type: typ}
			break
		}
		f := &resource.FeatureSpec{Entity: entity, EntityColumn: entityColumn, ValueColumn: valueColumn, TimestampColumn: timestampColumn, Type: typ}
		if s := it.str("max_age"); s != "" {
			age, err := resource.ParseDuration(s)
			if err != nil {
				it.fail("max_age", "%v", err)
			} else if age == 0 {
				it.fail("max_age", "must be positive; remove it for no limit")
			}
			f.MaxAge = age
			if f.TimestampColumn == "" {
				it.fail("max_age", "needs timestamp_column: a static value has no age")
			}
		}
		f.Schedule = it.schedule()
		f.Lookback = it.lookback(f.TimestampColumn)
		r.Feature = f
	case resource.KindTrainingSet:
		d.label = it.required("label")
		d.features = it.list("features")
		if _, ok := it.fields["features"]; !ok || len(d.features) == 0 {
			it.fail("features", "a training set needs at least one feature")
		}
		r.TrainingSet = &resource.TrainingSetSpec{}
	case resource.KindModel:
		d.trainingSet = it.required("training_set")
		r.Model = it.model()
	case resource.KindEndpoint:
		r.Endpoint = it.endpoint()
	case resource.KindBatchPrediction:
		r.BatchPrediction = it.batchPrediction(d)
	case resource.KindExperiment:
		r.Experiment = it.experiment(d)
	case resource.KindMonitor:
		r.Monitor = it.monitor(d)
	}
	if len(*errs) > before {
		return nil
	}
	return d
}

// sourcePath returns a source's file as recorded: as written, relative to
// the YAML file that defines the source, cleaned and with "/" separators. It
// does not depend on the directory given to plan or apply, nor on where the
// project is checked out. A path written absolute stays absolute.
func sourcePath(file string) string {
	if filepath.IsAbs(file) {
		return filepath.Clean(file)
	}
	return filepath.ToSlash(filepath.Clean(file))
}

// SourceQueryParams returns what the offline store needs to read the source
// d defines: a relative file is read from the directory of d's YAML file.
func (d *Definition) SourceQueryParams() *offline.SourceQueryParams {
	s := d.Resource.Source
	return &offline.SourceQueryParams{File: s.File, Dir: d.fileDir, Format: s.Format, Table: s.Table, Columns: s.Columns}
}

// columns reads a source's optional columns field: column name → type.
func (it *item) columns() map[string]value.Type {
	n, ok := it.fields["columns"]
	if !ok || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		it.fail("columns", "expected column types, like columns: {fare: float64, zip: string}")
		return nil
	}
	cols := map[string]value.Type{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" || v.Kind != yaml.ScalarNode {
			it.errs.add(Pos{it.file, k.Line}, "columns", "expected column: type, like fare: float64")
			continue
		}
		if _, dup := cols[k.Value]; dup {
			it.errs.add(Pos{it.file, k.Line}, "columns", "column %q given twice", k.Value)
			continue
		}
		t, err := value.ParseType(v.Value)
		if err != nil {
			it.errs.add(Pos{it.file, v.Line}, "columns", "column %q: %v", k.Value, err)
			continue
		}
		cols[k.Value] = t
	}
	return cols
}

// schedule reads and checks the optional schedule field, with its spaces
// normalized so that re-spacing a schedule does not change the definition.
func (it *item) schedule() string { return it.cron("schedule") }

// cron reads and checks an optional field holding a cron expression (a
// schedule), with its spaces normalized.
func (it *item) cron(field string) string {
	if _, ok := it.fields[field]; !ok {
		return ""
	}
	s := strings.Join(strings.Fields(it.str(field)), " ")
	if s == "" {
		if it.fields[field].Kind == yaml.ScalarNode && it.fields[field].Tag != "!!null" {
			it.fail(field, "is empty; write a cron expression such as \"0 * * * *\" or \"@daily\", or remove it")
		}
		return ""
	}
	if _, err := resource.ParseSchedule(s); err != nil {
		it.fail(field, "%v", err)
	}
	return s
}

// lookback reads and checks a feature's optional lookback field.
func (it *item) lookback(timestampColumn string) resource.Duration {
	s := it.str("lookback")
	if s == "" {
		return 0
	}
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		it.fail("lookback", "%q is negative; a lookback reaches back from the last materialization, so write a positive duration like 2d or 6h", s)
		return 0
	}
	d, err := resource.ParseDuration(s)
	if err != nil {
		it.fail("lookback", "%v", err)
		return 0
	}
	if d == 0 {
		it.fail("lookback", "must be positive (0 would mean the default, %s); remove it for the default, or write a short duration such as 1m", resource.DefaultLookback)
	}
	if timestampColumn == "" {
		it.fail("lookback", "needs timestamp_column: a static feature is read whole at every materialization, so there is nothing to look back over; remove it")
	}
	return d
}

func (it *item) fail(field, format string, args ...any) {
	pos := Pos{File: it.file, Line: it.line}
	if n, ok := it.fields[field]; ok {
		pos.Line = n.Line
	}
	it.errs.add(pos, field, format, args...)
}

// str returns a scalar field's value ("" when absent).
func (it *item) str(field string) string {
	n, ok := it.fields[field]
	if !ok {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		it.errs.add(Pos{it.file, n.Line}, field, "expected a single value")
		return ""
	}
	return n.Value
}

func (it *item) required(field string) string {
	n, ok := it.fields[field]
	if !ok {
		it.errs.add(Pos{it.file, it.line}, field, "missing; a %s needs it", it.kind)
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		it.fail(field, "must be a non-empty single value")
		return ""
	}
	return n.Value
}

// list returns a list-of-scalars field.
func (it *item) list(field string) []string {
	n, ok := it.fields[field]
	if !ok {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		it.errs.add(Pos{it.file, n.Line}, field, "expected a list, like [a, b]")
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Value == "" {
			it.errs.add(Pos{it.file, c.Line}, field, "expected a list of plain values")
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func formatOf(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return "csv"
	case ".parquet", ".pq":
		return "parquet"
	}
	return ""
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// refPattern matches {{ name }} and {{ name:variant }} in SQL.
var refPattern = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

func findRefs(sql string) []sqlRef {
	var refs []sqlRef
	for _, m := range refPattern.FindAllStringSubmatchIndex(sql, -1) {
		refs = append(refs, sqlRef{ref: sql[m[2]:m[3]], line: strings.Count(sql[:m[0]], "\n")})
	}
	return refs
}

// ExpandSQL replaces every {{ ref }} in sql with table(ref).
func ExpandSQL(sql string, table func(resource.Ref) string) string {
	return refPattern.ReplaceAllStringFunc(sql, func(m string) string {
		ref, err := resource.ParseRef(refPattern.FindStringSubmatch(m)[1])
		if err != nil {
			return m // validated before expansion; leave it for the engine to reject
		}
		return table(ref)
	})
}

// TransformationSQL returns a transformation's SQL with every reference
// replaced by the quoted offline table of the input it resolved to.
func TransformationSQL(r *resource.Resource) string {
	return ExpandSQL(r.Transformation.SQL, func(ref resource.Ref) string {
		for _, in := range r.Transformation.Inputs {
			if in.Ref() == ref {
				return offline.QuoteIdent(offline.TableName(in))
			}
		}
		return ref.String()
	})
}
