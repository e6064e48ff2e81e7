package model

import "fmt"

// PredictRows scores many rows at once: x holds them back to back, each
// NumFeatures values (NaN for missing), and the result holds NumOutputs
// values per row, in row order, each equal to what Predict returns for that
// row. It is written into out when out has room. Walking several rows
// through a tree together lets the processor overlap their memory reads,
// which makes it faster per row than Predict for batch scoring.
func (m *XGBoost) PredictRows(x, out []float64) ([]float64, error) {
	out, err := m.PredictRowsMargin(x, out)
	if err != nil {
		return nil, err
	}
	switch m.objective {
	case "binary:logistic", "reg:logistic":
		for i, v := range out {
			out[i] = float64(sigmoid(float32(v)))
		}
	case "multi:softprob":
		for r := 0; r < len(out); r += m.numGroup {
			softmax(out[r : r+m.numGroup])
		}
	}
	return out, nil
}

// PredictRowsMargin is PredictRows before the objective's transformation.
func (m *XGBoost) PredictRowsMargin(x, out []float64) ([]float64, error) {
	nf := m.numFeature
	if len(x)%nf != 0 {
		return nil, fmt.Errorf("%d values are not whole rows of the model's %d features", len(x), nf)
	}
	rows := len(x) / nf
	n := rows * m.numGroup
	if cap(out) >= n {
		out = out[:n]
	} else {
		out = make([]float64, n)
	}
	if m.numGroup > 1 {
		for r := range rows {
			m.sumGroups(x[r*nf:(r+1)*nf], out[r*m.numGroup:(r+1)*m.numGroup])
		}
		return out, nil
	}
	r := 0
	for ; r+4 <= rows; r += 4 {
		m.sum4(x[r*nf:(r+4)*nf], out[r:r+4])
	}
	for ; r < rows; r++ {
		out[r] = float64(m.sum1(x[r*nf : (r+1)*nf]))
	}
	return out, nil
}

// sum4 is sum1 for four rows at once, each summed in tree order in float32.
func (m *XGBoost) sum4(x, out []float64) {
	nf := m.numFeature
	x0, x1, x2, x3 := x[:nf], x[nf:2*nf], x[2*nf:3*nf], x[3*nf:4*nf]
	nodes := m.nodes
	s0, s1, s2, s3 := m.baseMargin[0], m.baseMargin[0], m.baseMargin[0], m.baseMargin[0]
	for _, root := range m.roots {
		a, b, c, d := leaf4(nodes, root, x0, x1, x2, x3)
		s0 += a
		s1 += b
		s2 += c
		s3 += d
	}
	out[0], out[1], out[2], out[3] = float64(s0), float64(s1), float64(s2), float64(s3)
}

// leaf4 walks four rows through one tree together; a row that has reached
// its leaf stays there while the others go on.
func leaf4(nodes []xgbNode, root int32, x0, x1, x2, x3 []float64) (float32, float32, float32, float32) {
	i0, i1, i2, i3 := root, root, root, root
	for {
		n0, n1, n2, n3 := &nodes[i0], &nodes[i1], &nodes[i2], &nodes[i3]
		if n0.left|n1.left|n2.left|n3.left == 0 {
			return n0.threshold, n1.threshold, n2.threshold, n3.threshold
		}
		i0 = step(n0, i0, x0)
		i1 = step(n1, i1, x1)
		i2 = step(n2, i2, x2)
		i3 = step(n3, i3, x3)
	}
}

// step is one move down the tree from node n at index i (which stays put at
// a leaf), with the same rule as leaf.
func step(n *xgbNode, i int32, x []float64) int32 {
	if n.left == 0 {
		return i
	}
	v := float32(x[n.feature&^missingRight])
	var right int32
	if !(v < n.threshold) {
		right = 1
	}
	if v != v {
		right = int32(n.feature >> 31)
	}
	return n.left + right
}
