package model

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// TrainData is a dense matrix of encoded rows and their labels, the input of
// the built-in trainers. NaN in X is a missing value: the trainers replace
// it by the column's mean over the rows (NaN ignored), and store that mean in
// the model, which replaces NaN inputs the same way at prediction.
type TrainData struct {
	Columns []string  // names of the encoded columns ([Encoding.Columns])
	X       []float64 // row-major, len(Y) rows of len(Columns) values
	Y       []float64 // labels: 0 or 1 for logistic regression, any finite value for linear regression
}

// LogisticParams configures [TrainLogistic]. The zero value is
// scikit-learn's default LogisticRegression (C=1, L2 penalty).
type LogisticParams struct {
	// C is the inverse strength of the L2 penalty on the coefficients (the
	// intercept is not penalized), as scikit-learn's C: the trainer minimizes
	// C·Σ logloss + ½‖w‖². 0 means 1.
	C float64
	// MaxIter bounds Newton's iterations; 0 means 100. Not converging by
	// then is an error.
	MaxIter int
}

// LinearParams configures [TrainLinear].
type LinearParams struct {
	// Alpha is the ridge penalty: the trainer minimizes
	// Σ (y − ŷ)² + Alpha·‖w‖², the intercept not penalized, as
	// scikit-learn's Ridge. 0 is ordinary least squares (LinearRegression).
	Alpha float64
}

// standardized is the training matrix with NaN replaced by column means,
// then centred and scaled per column: z = (x − mean) / scale.
type standardized struct {
	n, p   int
	z      []float64 // row-major n×p
	means  []float64
	scales []float64 // population standard deviation; 1 for a constant column
}

func (d *TrainData) check() error {
	p := len(d.Columns)
	n := len(d.Y)
	if n == 0 {
		return errors.New("the training set has no rows")
	}
	if len(d.X) != n*p {
		return fmt.Errorf("the matrix has %d values, want %d rows × %d columns = %d", len(d.X), n, p, n*p)
	}
	for i, x := range d.X {
		if math.IsInf(x, 0) {
			return fmt.Errorf("row %d, column %d (%q) is infinite", i/p, i%p, d.Columns[i%p])
		}
	}
	return nil
}

func standardize(d *TrainData) *standardized {
	p, n := len(d.Columns), len(d.Y)
	s := &standardized{n: n, p: p, z: make([]float64, n*p), means: make([]float64, p), scales: make([]float64, p)}
	counts := make([]int, p)
	for i := 0; i < n; i++ {
		for j, x := range d.X[i*p : (i+1)*p] {
			if x == x {
				s.means[j] += x
				counts[j]++
			}
		}
	}
	for j := range s.means {
		if counts[j] > 0 {
			s.means[j] /= float64(counts[j])
		} // an all-missing column has mean 0 (and coefficient 0)
	}
	for i := 0; i < n; i++ {
		row := s.z[i*p : (i+1)*p]
		for j, x := range d.X[i*p : (i+1)*p] {
			if x == x {
				row[j] = x - s.means[j]
			}
			s.scales[j] += row[j] * row[j]
		}
	}
	for j := range s.scales {
		s.scales[j] = math.Sqrt(s.scales[j] / float64(n))
		if s.scales[j] == 0 || !finite(1/s.scales[j]) {
			s.scales[j] = 1
		}
	}
	for i := 0; i < n; i++ {
		row := s.z[i*p : (i+1)*p]
		for j := range row {
			row[j] /= s.scales[j]
		}
	}
	return s
}

// unstandardize maps a model on standardized columns (intercept b, weights v)
// back to the raw columns.
func (s *standardized) unstandardize(b float64, v []float64) (float64, []float64) {
	w := make([]float64, s.p)
	for j := range w {
		w[j] = v[j] / s.scales[j]
		b -= w[j] * s.means[j]
	}
	return b, w
}

// TrainLogistic fits an L2-regularized logistic regression with an intercept
// by Newton's method on standardized columns, with the penalty on the raw
// coefficients, so that it minimizes the same objective as scikit-learn's
// LogisticRegression (and reaches its optimum more tightly than lbfgs's
// default tolerance). Labels must be 0 or 1, with both present. The result
// is deterministic.
func TrainLogistic(ctx context.Context, d *TrainData, params *LogisticParams) (*Linear, error) {
	m, err := trainLogistic(ctx, d, params)
	if err != nil {
		return nil, fmt.Errorf("training logistic regression: %w", err)
	}
	return m, nil
}

func trainLogistic(ctx context.Context, d *TrainData, params *LogisticParams) (*Linear, error) {
	var prm LogisticParams
	if params != nil {
		prm = *params
	}
	if prm.C == 0 {
		prm.C = 1
	}
	if prm.MaxIter == 0 {
		prm.MaxIter = 100
	}
	if !(prm.C > 0) || math.IsInf(prm.C, 0) || prm.MaxIter < 0 {
		return nil, fmt.Errorf("C %v must be a positive number and MaxIter %d not negative", prm.C, prm.MaxIter)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	var pos int
	for i, y := range d.Y {
		switch y {
		case 1:
			pos++
		case 0:
		default:
			return nil, fmt.Errorf("label of row %d is %v: binary classification needs labels 0 or 1", i, y)
		}
	}
	if pos == 0 || pos == len(d.Y) {
		return nil, fmt.Errorf("all %d training rows have label %v: binary classification needs both classes 0 and 1 (check the label's definition and the training set's time range)", len(d.Y), d.Y[0])
	}
	s := standardize(d)
	n, p := s.n, s.p
	k := p + 1 // θ = (b, v): intercept first
	theta := make([]float64, k)
	// Start from the intercept of the class balance: the optimum when every
	// weight is 0.
	rate := float64(pos) / float64(n)
	theta[0] = math.Log(rate / (1 - rate))
	// penalty[j] weighs v_j²/2 in the objective: 1/(C·scale²), so that the
	// penalty is ½‖w‖²/C on the raw coefficients w = v/scale.
	penalty := make([]float64, k)
	for j := 0; j < p; j++ {
		penalty[j+1] = 1 / (prm.C * s.scales[j] * s.scales[j])
	}
	// objective is Σ logloss + ½ Σ penalty·θ², divided by n for scale.
	objective := func(th []float64) float64 {
		var f float64
		for i := 0; i < n; i++ {
			eta := th[0]
			for j, z := range s.z[i*p : (i+1)*p] {
				eta += th[j+1] * z
			}
			// log(1+e^η) − yη, without overflow
			if eta > 0 {
				f += eta + math.Log1p(math.Exp(-eta)) - d.Y[i]*eta
			} else {
				f += math.Log1p(math.Exp(eta)) - d.Y[i]*eta
			}
		}
		for j, t := range th {
			f += 0.5 * penalty[j] * t * t
		}
		return f / float64(n)
	}
	grad := make([]float64, k)
	hess := make([]float64, k*k)
	step := make([]float64, k)
	trial := make([]float64, k)
	xi := make([]float64, k)
	xi[0] = 1
	f := objective(theta)
	for iter := 1; iter <= prm.MaxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clear(grad)
		clear(hess)
		for i := 0; i < n; i++ {
			copy(xi[1:], s.z[i*p:(i+1)*p])
			eta := 0.0
			for j, x := range xi {
				eta += theta[j] * x
			}
			mu := logistic(eta)
			r, w := mu-d.Y[i], mu*(1-mu)
			for a, xa := range xi {
				grad[a] += r * xa
				wa := w * xa
				row := hess[a*k : a*k+a+1]
				for b := range row {
					row[b] += wa * xi[b]
				}
			}
		}
		for a := 0; a < k; a++ {
			grad[a] = (grad[a] + penalty[a]*theta[a]) / float64(n)
			hess[a*k+a] += penalty[a]
			for b := 0; b <= a; b++ {
				hess[a*k+b] /= float64(n)
				hess[b*k+a] = hess[a*k+b]
			}
		}
		if err := solveSymmetric(hess, grad, step, k); err != nil {
			return nil, fmt.Errorf("iteration %d: %w", iter, err)
		}
		// Newton decrement λ² = gᵀH⁻¹g: half of it estimates how far the
		// objective is above its minimum.
		var dec float64
		for a := range step {
			step[a] = -step[a]
			dec -= grad[a] * step[a]
		}
		if dec < 1e-14 {
			// The full step from here leaves an error of order dec², below
			// rounding.
			for a := range theta {
				theta[a] += step[a]
			}
			b, w := s.unstandardize(theta[0], theta[1:])
			return NewLinear(TaskBinaryClassification, b, w, s.means, d.Columns,
				&LinearTrainer{Name: "logistic_regression", C: prm.C, Rows: n, Iterations: iter})
		}
		// Backtracking line search (Armijo), except close to the optimum,
		// where the full step is safe and the objective's rounding noise
		// (about 1e-16 of it) would hide the decrease.
		t := 1.0
		for dec >= 1e-8 {
			for a := range trial {
				trial[a] = theta[a] + t*step[a]
			}
			ft := objective(trial)
			if ft <= f-0.25*t*dec || t < 1e-10 {
				copy(theta, trial)
				f = ft
				break
			}
			t /= 2
		}
		if dec < 1e-8 {
			for a := range theta {
				theta[a] += step[a]
			}
			f = objective(theta)
		}
	}
	return nil, fmt.Errorf("Newton's method did not converge in %d iterations (raise MaxIter, or check for columns that separate the classes perfectly)", prm.MaxIter)
}

// TrainLinear fits a linear regression with an intercept by least squares,
// with an optional ridge penalty on the raw coefficients (not the
// intercept): scikit-learn's LinearRegression when params.Alpha is 0, Ridge
// otherwise. It solves the normal equations on standardized columns; when
// columns are collinear (Alpha 0), it returns the least-squares solution of
// smallest norm in standardized columns, whose predictions equal any other
// least-squares solution's. The result is deterministic.
func TrainLinear(ctx context.Context, d *TrainData, params *LinearParams) (*Linear, error) {
	m, err := trainLinear(ctx, d, params)
	if err != nil {
		return nil, fmt.Errorf("training linear regression: %w", err)
	}
	return m, nil
}

func trainLinear(ctx context.Context, d *TrainData, params *LinearParams) (*Linear, error) {
	var prm LinearParams
	if params != nil {
		prm = *params
	}
	if !(prm.Alpha >= 0) || math.IsInf(prm.Alpha, 0) {
		return nil, fmt.Errorf("Alpha %v must be a finite number ≥ 0", prm.Alpha)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	for i, y := range d.Y {
		if !finite(y) {
			return nil, fmt.Errorf("target of row %d is %v: regression needs finite targets", i, y)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := standardize(d)
	n, p := s.n, s.p
	var ymean float64
	for _, y := range d.Y {
		ymean += y
	}
	ymean /= float64(n)
	// (ZᵀZ + Alpha·diag(1/scale²)) v = Zᵀ(y − ȳ): the columns are centred,
	// so the intercept on standardized columns is ȳ.
	gram := make([]float64, p*p)
	rhs := make([]float64, p)
	for i := 0; i < n; i++ {
		row := s.z[i*p : (i+1)*p]
		r := d.Y[i] - ymean
		for a, za := range row {
			rhs[a] += za * r
			g := gram[a*p : a*p+a+1]
			for b := range g {
				g[b] += za * row[b]
			}
		}
	}
	for a := 0; a < p; a++ {
		gram[a*p+a] += prm.Alpha / (s.scales[a] * s.scales[a])
		for b := 0; b < a; b++ {
			gram[b*p+a] = gram[a*p+b]
		}
	}
	v := make([]float64, p)
	if err := solveSymmetric(gram, rhs, v, p); err != nil {
		return nil, err
	}
	b, w := s.unstandardize(ymean, v)
	return NewLinear(TaskRegression, b, w, s.means, d.Columns,
		&LinearTrainer{Name: "linear_regression", Alpha: prm.Alpha, Rows: n})
}

// solveSymmetric solves A x = b for a symmetric positive semi-definite k×k
// matrix A (row-major, not modified). It tries a Cholesky factorization;
// when A is singular or nearly so, it returns the minimum-norm solution
// through an eigendecomposition (cyclic Jacobi), dropping eigenvalues below
// a relative threshold.
func solveSymmetric(a, b, x []float64, k int) error {
	if k == 0 {
		return nil
	}
	if cholesky(a, b, x, k) {
		return nil
	}
	return pseudoSolve(a, b, x, k)
}

func cholesky(a, b, x []float64, k int) bool {
	l := make([]float64, k*k)
	var maxDiag float64
	for i := 0; i < k; i++ {
		maxDiag = max(maxDiag, a[i*k+i])
	}
	if !(maxDiag > 0) {
		return false
	}
	for i := 0; i < k; i++ {
		for j := 0; j <= i; j++ {
			sum := a[i*k+j]
			for m := 0; m < j; m++ {
				sum -= l[i*k+m] * l[j*k+m]
			}
			if i == j {
				// A pivot this small relative to the largest diagonal means
				// the matrix is (numerically) singular.
				if !(sum > 1e-10*maxDiag) {
					return false
				}
				l[i*k+i] = math.Sqrt(sum)
			} else {
				l[i*k+j] = sum / l[j*k+j]
			}
		}
	}
	// L y = b, then Lᵀ x = y.
	for i := 0; i < k; i++ {
		sum := b[i]
		for m := 0; m < i; m++ {
			sum -= l[i*k+m] * x[m]
		}
		x[i] = sum / l[i*k+i]
	}
	for i := k - 1; i >= 0; i-- {
		sum := x[i]
		for m := i + 1; m < k; m++ {
			sum -= l[m*k+i] * x[m]
		}
		x[i] = sum / l[i*k+i]
	}
	return true
}

// pseudoSolve is x = A⁺ b by cyclic Jacobi rotations: A = V Λ Vᵀ.
func pseudoSolve(a, b, x []float64, k int) error {
	m := append([]float64(nil), a...)
	v := make([]float64, k*k)
	for i := 0; i < k; i++ {
		v[i*k+i] = 1
	}
	converged := false
	for sweep := 0; sweep < 100; sweep++ {
		var off, total float64
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				total += m[i*k+j] * m[i*k+j]
				if i != j {
					off += m[i*k+j] * m[i*k+j]
				}
			}
		}
		if off <= 1e-30*total {
			converged = true
			break
		}
		for p := 0; p < k-1; p++ {
			for q := p + 1; q < k; q++ {
				apq := m[p*k+q]
				if apq == 0 {
					continue
				}
				theta := (m[q*k+q] - m[p*k+p]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for r := 0; r < k; r++ { // columns p, q
					mrp, mrq := m[r*k+p], m[r*k+q]
					m[r*k+p], m[r*k+q] = c*mrp-s*mrq, s*mrp+c*mrq
				}
				for r := 0; r < k; r++ { // rows p, q
					mpr, mqr := m[p*k+r], m[q*k+r]
					m[p*k+r], m[q*k+r] = c*mpr-s*mqr, s*mpr+c*mqr
				}
				for r := 0; r < k; r++ {
					vrp, vrq := v[r*k+p], v[r*k+q]
					v[r*k+p], v[r*k+q] = c*vrp-s*vrq, s*vrp+c*vrq
				}
			}
		}
	}
	if !converged {
		return errors.New("the eigendecomposition of the normal equations did not converge")
	}
	var maxEig float64
	for i := 0; i < k; i++ {
		maxEig = max(maxEig, math.Abs(m[i*k+i]))
	}
	clear(x)
	if maxEig == 0 {
		return nil
	}
	for e := 0; e < k; e++ {
		lambda := m[e*k+e]
		if lambda <= 1e-10*maxEig {
			continue
		}
		var proj float64
		for r := 0; r < k; r++ {
			proj += v[r*k+e] * b[r]
		}
		proj /= lambda
		for r := 0; r < k; r++ {
			x[r] += proj * v[r*k+e]
		}
	}
	return nil
}
