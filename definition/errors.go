package definition

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in a definition file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is one problem in the definitions, with where it is.
type Error struct {
	Pos   Pos
	Field string // "" when the problem is not about one field
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Field, e.Msg)
}

// Errors is every problem found in one pass, sorted by file and line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es *Errors) add(pos Pos, field, format string, args ...any) {
	*es = append(*es, &Error{Pos: pos, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil or the sorted errors.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Pos.File != es[j].Pos.File {
			return es[i].Pos.File < es[j].Pos.File
		}
		return es[i].Pos.Line < es[j].Pos.Line
	})
	return es
}
