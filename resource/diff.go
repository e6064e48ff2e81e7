package resource

import (
	"fmt"
	"strings"
)

// Lines formats the difference for people, one line per element, without
// indentation:
//
//   - a field holding text of several lines (SQL) as a unified diff of its lines;
//   - a list (tags, a training set's features) as the elements added and removed,
//     or as the two lists when only the order changed;
//   - any other field as "field: registered → proposed" ("" for an empty value).
func (d FieldDiff) Lines() []string {
	switch {
	case strings.Contains(d.Registered, "\n") || strings.Contains(d.Proposed, "\n"):
		return append([]string{d.Field + ":"}, UnifiedDiff(d.Registered, d.Proposed, "registered", "proposed")...)
	case d.Added != nil || d.Removed != nil:
		var parts []string
		if len(d.Added) > 0 {
			parts = append(parts, "added "+strings.Join(d.Added, ", "))
		}
		if len(d.Removed) > 0 {
			parts = append(parts, "removed "+strings.Join(d.Removed, ", "))
		}
		if len(parts) == 0 {
			parts = append(parts, "reordered "+quoteEmpty(d.Registered)+" → "+quoteEmpty(d.Proposed))
		}
		return []string{d.Field + ": " + strings.Join(parts, "; ")}
	}
	return []string{d.Field + ": " + quoteEmpty(d.Registered) + " → " + quoteEmpty(d.Proposed)}
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// listDiff fills Added and Removed of a list field: the elements of one
// list that the other does not have, in their list's order (a repeated
// element counts as often as it appears). Both are non-nil, so Lines knows
// the field is a list even when only its order changed.
func listDiff(d *FieldDiff, registered, proposed []string) {
	d.Registered, d.Proposed = strings.Join(registered, ", "), strings.Join(proposed, ", ")
	d.Added, d.Removed = missing(proposed, registered), missing(registered, proposed)
}

// missing returns the elements of a that b lacks, as a multiset difference.
func missing(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	out := []string{}
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// diffContext is how many unchanged lines a unified diff shows around a change.
const diffContext = 3

// maxDiffCells bounds the LCS table (lines of a × lines of b): beyond it the
// diff shows every line of a removed and every line of b added.
const maxDiffCells = 4_000_000

// UnifiedDiff returns the line diff of a and b in unified format: a
// "--- nameA" and "+++ nameB" header, then hunks "@@ -l,n +l,n @@" of lines
// prefixed " " (kept), "-" (removed) and "+" (added), with diffContext
// unchanged lines around each change. Equal texts give no lines. A
// missing final newline is not shown as a change.
func UnifiedDiff(a, b, nameA, nameB string) []string {
	if a == b {
		return nil
	}
	ops := diffLines(splitLines(a), splitLines(b))
	out := []string{"--- " + nameA, "+++ " + nameB}
	// Each hunk runs from diffContext lines before a change to diffContext
	// lines after the last change that is no further than 2·diffContext away.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
			} else if j-end > 2*diffContext {
				break
			}
		}
		stop := min(end+diffContext+1, len(ops))
		out = append(out, hunkHeader(ops, start, stop))
		for _, op := range ops[start:stop] {
			out = append(out, string(op.kind)+op.line)
		}
		i = stop
	}
	return out
}

type lineOp struct {
	kind       byte // ' ', '-' or '+'
	line       string
	aPos, bPos int // 0-based line numbers in a and b before this op
}

func hunkHeader(ops []lineOp, start, stop int) string {
	aStart, bStart := ops[start].aPos, ops[start].bPos
	var aLen, bLen int
	for _, op := range ops[start:stop] {
		if op.kind != '+' {
			aLen++
		}
		if op.kind != '-' {
			bLen++
		}
	}
	return fmt.Sprintf("@@ -%s +%s @@", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
}

// hunkRange writes a hunk's range as diff -u does: "l,n", "l" when n is 1,
// and the line before when n is 0.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines aligns a and b on a longest common subsequence of lines (after
// the common prefix and suffix, which are kept as they are).
func diffLines(a, b []string) []lineOp {
	var ops []lineOp
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		ops = append(ops, lineOp{' ', a[pre], pre, pre})
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ai, bi := pre, pre
	emit := func(kind byte, line string) {
		ops = append(ops, lineOp{kind, line, ai, bi})
		switch kind {
		case ' ':
			ai++
			bi++
		case '-':
			ai++
		case '+':
			bi++
		}
	}
	if len(ma)*len(mb) > maxDiffCells {
		for _, l := range ma {
			emit('-', l)
		}
		for _, l := range mb {
			emit('+', l)
		}
	} else {
		// lcs[i][j] is the LCS length of ma[i:] and mb[j:].
		lcs := make([][]int, len(ma)+1)
		for i := range lcs {
			lcs[i] = make([]int, len(mb)+1)
		}
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				emit(' ', ma[i])
				i++
				j++
			case j < len(mb) && (i == len(ma) || lcs[i][j+1] > lcs[i+1][j]):
				emit('+', mb[j])
				j++
			default:
				emit('-', ma[i])
				i++
			}
		}
	}
	for k := len(a) - suf; k < len(a); k++ {
		emit(' ', a[k])
	}
	return ops
}

// idString formats an ID as decoded from JSON ({kind, name, variant}) as
// "kind name:variant"; ok is false for anything else.
func idString(v any) (string, bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 3 {
		return "", false
	}
	name, ok1 := m["name"].(string)
	variant, ok2 := m["variant"].(string)
	_, ok3 := m["kind"].(string)
	if !ok1 || !ok2 || !ok3 {
		return "", false
	}
	return m["kind"].(string) + " " + name + ":" + variant, true
}

// listStrings formats a JSON list's elements: IDs as idString does, strings
// as they are, anything else as JSON.
func listStrings(list []any, marshal func(any) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		switch t := x.(type) {
		case string:
			out[i] = t
		default:
			if s, ok := idString(x); ok {
				out[i] = s
			} else {
				out[i] = marshal(x)
			}
		}
	}
	return out
}
