package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// XGBoost is a gradient-boosted tree ensemble read from XGBoost's JSON model
// format. Its trees are flattened into one array of nodes, walked with float32
// arithmetic in XGBoost's own order so that predictions match XGBoost's.
type XGBoost struct {
	objective  string
	numFeature int
	numGroup   int       // outputs per row: num_class for multi:softprob, else 1
	baseMargin []float32 // per output group, in margin space
	nodes      []xgbNode
	roots      []int32 // index in nodes of each tree's root
	groups     []int32 // output group of each tree (tree_info)
	version    string
}

// xgbNode is one tree node, 12 bytes so that five share a cache line. The
// children of an inner node are adjacent: left at index left, right at
// left+1 (the loader lays trees out that way). left is 0 for a leaf, whose
// value is in threshold (index 0 is the first tree's root, never a child).
// feature's top bit is set when a missing value goes right.
type xgbNode struct {
	threshold float32
	left      int32
	feature   uint32
}

const missingRight = 1 << 31

// maxClasses bounds num_class, which sizes every prediction.
const maxClasses = 1 << 16

// Objectives LoadXGBoost accepts.
var xgbObjectives = []string{"binary:logistic", "reg:squarederror", "reg:logistic", "multi:softprob"}

// xgbModelFile is the part of XGBoost's JSON model schema this package reads.
type xgbModelFile struct {
	Version []int `json:"version"`
	Learner *struct {
		LearnerModelParam *struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
			NumTarget  string `json:"num_target"`
		} `json:"learner_model_param"`
		Objective *struct {
			Name string `json:"name"`
		} `json:"objective"`
		GradientBooster *struct {
			Name  string `json:"name"`
			Model *struct {
				Trees    []xgbTree `json:"trees"`
				TreeInfo []int     `json:"tree_info"`
			} `json:"model"`
		} `json:"gradient_booster"`
	} `json:"learner"`
}

type xgbTree struct {
	LeftChildren    []int32    `json:"left_children"`
	RightChildren   []int32    `json:"right_children"`
	SplitIndices    []int64    `json:"split_indices"`
	SplitConditions []float32  `json:"split_conditions"`
	DefaultLeft     []flexBool `json:"default_left"`
	SplitType       []int      `json:"split_type"`
	CategoriesNodes []int      `json:"categories_nodes"`
	TreeParam       *struct {
		NumNodes       string `json:"num_nodes"`
		SizeLeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// flexBool reads a default_left entry: XGBoost writes 0/1, some versions
// true/false.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch s := string(data); s {
	case "true", "1":
		*b = true
	case "false", "0":
		*b = false
	default:
		return fmt.Errorf("default_left entry %s is neither 0/1 nor true/false", s)
	}
	return nil
}

var (
	categoricalSplits = regexp.MustCompile(`"categories_nodes"\s*:\s*\[\s*[0-9]`)
	errCategorical    = errors.New("the model has categorical splits, which are not supported (only numeric splits are; encode categories as numbers, or train without enable_categorical)")
)

// LoadXGBoost reads a model in XGBoost's JSON format, as written by
// Booster.save_model("model.json"). It reads gbtree boosters with numeric
// splits and the objectives binary:logistic, reg:squarederror, reg:logistic
// and multi:softprob; anything else is an error saying what is supported.
func LoadXGBoost(r io.Reader) (*XGBoost, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading XGBoost JSON model: %w", err)
	}
	return ParseXGBoost(data)
}

// ParseXGBoost is LoadXGBoost on a model already in memory.
func ParseXGBoost(data []byte) (*XGBoost, error) {
	m, err := parseXGBoost(data)
	if err != nil {
		return nil, fmt.Errorf("reading XGBoost JSON model: %w", err)
	}
	return m, nil
}

func parseXGBoost(data []byte) (*XGBoost, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	var f xgbModelFile
	if err := json.Unmarshal(data, &f); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input":
			return nil, fmt.Errorf("the JSON ends early at byte %d: the file is truncated", syn.Offset)
		case errors.As(err, &syn) && categoricalSplits.Match(data):
			// XGBoost writes NaN, which is not JSON, as the split
			// condition of a categorical split.
			return nil, errCategorical
		case errors.As(err, &syn):
			return nil, fmt.Errorf("not valid JSON at byte %d: %v (is it a binary or UBJSON model? save it with a .json name)", syn.Offset, err)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("field %s at byte %d: %s where the format has %s", typ.Field, typ.Offset, typ.Value, typ.Type)
		}
		return nil, err
	}
	l := f.Learner
	if l == nil || l.LearnerModelParam == nil || l.Objective == nil || l.GradientBooster == nil {
		return nil, errors.New(`no "learner" object with learner_model_param, objective and gradient_booster: not an XGBoost JSON model (expected what Booster.save_model("x.json") writes)`)
	}
	m := &XGBoost{objective: l.Objective.Name}
	if len(f.Version) > 0 {
		parts := make([]string, len(f.Version))
		for i, v := range f.Version {
			parts[i] = strconv.Itoa(v)
		}
		m.version = strings.Join(parts, ".")
	}
	if !supportedObjective(m.objective) {
		return nil, fmt.Errorf("objective %q is not supported (supported: %s)", m.objective, strings.Join(xgbObjectives, ", "))
	}
	if b := l.GradientBooster.Name; b != "gbtree" {
		return nil, fmt.Errorf("booster %q is not supported (supported: gbtree; retrain with booster=\"gbtree\")", b)
	}
	p := l.LearnerModelParam
	nf, err := strconv.Atoi(p.NumFeature)
	if err != nil || nf <= 0 || nf >= missingRight {
		return nil, fmt.Errorf("learner_model_param.num_feature %q is not an integer from 1 to %d", p.NumFeature, missingRight-1)
	}
	m.numFeature = nf
	numClass := 0
	if p.NumClass != "" {
		if numClass, err = strconv.Atoi(p.NumClass); err != nil || numClass < 0 || numClass > maxClasses {
			return nil, fmt.Errorf("learner_model_param.num_class %q is not an integer from 0 to %d", p.NumClass, maxClasses)
		}
	}
	if p.NumTarget != "" && p.NumTarget != "1" {
		return nil, fmt.Errorf("learner_model_param.num_target is %s: multi-target models are not supported", p.NumTarget)
	}
	m.numGroup = 1
	if m.objective == "multi:softprob" {
		if numClass < 2 {
			return nil, fmt.Errorf("objective multi:softprob needs learner_model_param.num_class >= 2, the file has %q", p.NumClass)
		}
		m.numGroup = numClass
	}
	if m.baseMargin, err = baseMargin(p.BaseScore, m.objective, m.numGroup); err != nil {
		return nil, err
	}
	gm := l.GradientBooster.Model
	if gm == nil {
		return nil, errors.New("gradient_booster has no model")
	}
	if len(gm.TreeInfo) != len(gm.Trees) {
		return nil, fmt.Errorf("gradient_booster.model has %d trees but tree_info has %d entries", len(gm.Trees), len(gm.TreeInfo))
	}
	total := 0
	for i := range gm.Trees {
		total += len(gm.Trees[i].LeftChildren)
	}
	m.nodes = make([]xgbNode, 0, total)
	m.roots = make([]int32, len(gm.Trees))
	m.groups = make([]int32, len(gm.Trees))
	for i := range gm.Trees {
		g := gm.TreeInfo[i]
		if g < 0 || g >= m.numGroup {
			return nil, fmt.Errorf("tree %d: tree_info %d is outside the model's %d output group(s)", i, g, m.numGroup)
		}
		m.groups[i] = int32(g)
		m.roots[i] = int32(len(m.nodes))
		if m.nodes, err = appendTree(m.nodes, &gm.Trees[i], nf); err != nil {
			return nil, fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return m, nil
}

func supportedObjective(name string) bool {
	for _, o := range xgbObjectives {
		if o == name {
			return true
		}
	}
	return false
}

// baseMargin turns learner_model_param.base_score into the starting margin
// of each output group. XGBoost stores base_score in the objective's output
// space (a probability for the logistic objectives) and starts the sum of
// trees from ProbToMargin(base_score); 1.x writes a number as a string
// ("5E-1"), newer versions may write a bracketed list ("[5E-1]"), one value
// per target or one for all.
func baseMargin(raw, objective string, groups int) ([]float32, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	fields := strings.Split(s, ",")
	if s == "" || (len(fields) != 1 && len(fields) != groups) {
		return nil, fmt.Errorf("learner_model_param.base_score %q is not a number or a list of 1 or %d numbers", raw, groups)
	}
	out := make([]float32, groups)
	for i := range out {
		f := fields[0]
		if len(fields) > 1 {
			f = fields[i]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("learner_model_param.base_score %q is not a finite number", raw)
		}
		bs := float32(v)
		switch objective {
		case "binary:logistic", "reg:logistic":
			if bs <= 0 || bs >= 1 {
				return nil, fmt.Errorf("learner_model_param.base_score %v must be in (0, 1) for %s", bs, objective)
			}
			// -log(1/p - 1), step by step in float32 as XGBoost does.
			t := float32(1)/bs - float32(1)
			out[i] = -float32(math.Log(float64(t)))
		default:
			out[i] = bs
		}
	}
	return out, nil
}

// appendTree checks one tree and appends its nodes to nodes, with child
// indices made absolute. Only nodes reachable from the root are checked;
// XGBoost may leave deleted nodes in the arrays.
func appendTree(nodes []xgbNode, t *xgbTree, numFeature int) ([]xgbNode, error) {
	n := len(t.LeftChildren)
	if n == 0 {
		return nil, errors.New("the tree has no nodes")
	}
	if t.TreeParam != nil && t.TreeParam.NumNodes != "" && t.TreeParam.NumNodes != strconv.Itoa(n) {
		return nil, fmt.Errorf("tree_param.num_nodes is %s but left_children has %d entries", t.TreeParam.NumNodes, n)
	}
	if t.TreeParam != nil && t.TreeParam.SizeLeafVector != "" && t.TreeParam.SizeLeafVector != "0" && t.TreeParam.SizeLeafVector != "1" {
		return nil, fmt.Errorf("tree_param.size_leaf_vector is %s: vector-leaf (multi-target) trees are not supported", t.TreeParam.SizeLeafVector)
	}
	for _, a := range []struct {
		name string
		len  int
	}{
		{"right_children", len(t.RightChildren)},
		{"split_indices", len(t.SplitIndices)},
		{"split_conditions", len(t.SplitConditions)},
		{"default_left", len(t.DefaultLeft)},
	} {
		if a.len != n {
			return nil, fmt.Errorf("%s has %d entries but left_children has %d", a.name, a.len, n)
		}
	}
	if len(t.CategoriesNodes) > 0 {
		return nil, errCategorical
	}
	for i, st := range t.SplitType {
		if st != 0 && i < n && t.LeftChildren[i] != -1 {
			return nil, fmt.Errorf("node %d: %w", i, errCategorical)
		}
	}
	// Walk from the root so that every reachable node is seen exactly once:
	// this proves the structure is a tree, so prediction always ends.
	seen := make([]bool, n)
	stack := []int32{0}
	seen[0] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r := t.LeftChildren[i], t.RightChildren[i]
		if l == -1 {
			if r != -1 {
				return nil, fmt.Errorf("node %d has no left child but right child %d", i, r)
			}
			continue
		}
		for _, c := range [2]int32{l, r} {
			if c < 0 || int(c) >= n {
				return nil, fmt.Errorf("node %d has child %d outside the tree's %d nodes", i, c, n)
			}
			if seen[c] {
				return nil, fmt.Errorf("node %d is reached twice (from node %d): not a tree", c, i)
			}
			seen[c] = true
			stack = append(stack, c)
		}
		if f := t.SplitIndices[i]; f < 0 || f >= int64(numFeature) {
			return nil, fmt.Errorf("node %d splits on feature %d but the model has %d features (learner_model_param.num_feature)", i, f, numFeature)
		}
		if math.IsNaN(float64(t.SplitConditions[i])) {
			return nil, fmt.Errorf("node %d has split condition NaN", i)
		}
	}
	// Lay the reachable nodes out breadth first, each node's two children
	// in adjacent slots. queue holds XGBoost node ids; queue[k] goes to
	// nodes[base+k].
	base := int32(len(nodes))
	queue := []int32{0}
	for k := 0; k < len(queue); k++ {
		i := queue[k]
		l, r := t.LeftChildren[i], t.RightChildren[i]
		if l == -1 {
			nodes = append(nodes, xgbNode{threshold: t.SplitConditions[i]})
			continue
		}
		feature := uint32(t.SplitIndices[i])
		if !t.DefaultLeft[i] {
			feature |= missingRight
		}
		nodes = append(nodes, xgbNode{threshold: t.SplitConditions[i], left: base + int32(len(queue)), feature: feature})
		queue = append(queue, l, r)
	}
	return nodes, nil
}

// NumFeatures is the length of the feature vector the model expects
// (learner_model_param.num_feature).
func (m *XGBoost) NumFeatures() int { return m.numFeature }

// Objective is the XGBoost objective the model was trained with, e.g.
// "binary:logistic".
func (m *XGBoost) Objective() string { return m.objective }

// NumClass is the number of classes of a multi:softprob model, 0 otherwise.
func (m *XGBoost) NumClass() int {
	if m.objective == "multi:softprob" {
		return m.numGroup
	}
	return 0
}

// NumOutputs is the length of a prediction: NumClass for multi:softprob, 1
// otherwise.
func (m *XGBoost) NumOutputs() int { return m.numGroup }

// NumTrees is the number of trees in the ensemble.
func (m *XGBoost) NumTrees() int { return len(m.roots) }

// Version is the XGBoost version that wrote the file ("1.7.4"), or "" if the
// file does not say.
func (m *XGBoost) Version() string { return m.version }

// Predict scores one feature vector, with NaN for a missing value. It returns
// what XGBoost's Booster.predict returns: the probability of the positive
// class for binary:logistic, the value for reg:squarederror and
// reg:logistic, and one probability per class for multi:softprob. The result
// is written into out when it has room (so a reused out allocates nothing)
// and returned. features must have NumFeatures values.
func (m *XGBoost) Predict(features, out []float64) ([]float64, error) {
	out, err := m.PredictMargin(features, out)
	if err != nil {
		return nil, err
	}
	switch m.objective {
	case "binary:logistic", "reg:logistic":
		out[0] = float64(sigmoid(float32(out[0])))
	case "multi:softprob":
		softmax(out)
	}
	return out, nil
}

// PredictMargin is Predict before the objective's transformation: the sum of
// base margin and trees, as Booster.predict(output_margin=True) returns it.
func (m *XGBoost) PredictMargin(features, out []float64) ([]float64, error) {
	if len(features) != m.numFeature {
		return nil, fmt.Errorf("feature vector has %d values but the model expects %d", len(features), m.numFeature)
	}
	if cap(out) >= m.numGroup {
		out = out[:m.numGroup]
	} else {
		out = make([]float64, m.numGroup)
	}
	if m.numGroup == 1 {
		out[0] = float64(m.sum1(features))
		return out, nil
	}
	m.sumGroups(features, out)
	return out, nil
}

// sum1 is the margin of a single-output model. XGBoost adds float32 leaf
// values to a float32 sum in tree order; so does this.
func (m *XGBoost) sum1(x []float64) float32 {
	nodes := m.nodes
	sum := m.baseMargin[0]
	for _, root := range m.roots {
		sum += leaf(nodes, root, x)
	}
	return sum
}

func (m *XGBoost) sumGroups(x, out []float64) {
	// Sums are kept in float32 like XGBoost's; out holds them as float64,
	// which represents every float32 exactly, and each addition is rounded
	// back to float32.
	for g := range out {
		out[g] = float64(m.baseMargin[g])
	}
	nodes := m.nodes
	for t, root := range m.roots {
		g := m.groups[t]
		out[g] = float64(float32(out[g]) + leaf(nodes, root, x))
	}
}

// leaf walks one tree from root to a leaf and returns the leaf's value.
func leaf(nodes []xgbNode, i int32, x []float64) float32 {
	for {
		n := &nodes[i]
		if n.left == 0 {
			return n.threshold
		}
		// Written so that the compiler picks the child with conditional
		// moves: a branch per node would be mispredicted half the time.
		v := float32(x[n.feature&^missingRight])
		var right int32
		if !(v < n.threshold) {
			right = 1
		}
		if v != v { // NaN: missing
			right = int32(n.feature >> 31)
		}
		i = n.left + right
	}
}

func sigmoid(x float32) float32 {
	return float32(1) / (float32(1) + float32(math.Exp(float64(-x))))
}

// softmax turns class margins into probabilities in place, in float32 as
// XGBoost does, subtracting the largest margin first for stability.
func softmax(z []float64) {
	maxv := float32(z[0])
	for _, v := range z[1:] {
		maxv = max(maxv, float32(v))
	}
	var sum float32
	for i, v := range z {
		e := float32(math.Exp(float64(float32(v) - maxv)))
		z[i] = float64(e)
		sum += e
	}
	for i := range z {
		z[i] = float64(float32(z[i]) / sum)
	}
}
