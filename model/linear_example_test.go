package model_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/slipway-ml/slipway/model"
)

// ExampleTrainLogistic trains a logistic regression on encoded rows with a
// missing value, writes it in the slipway-linear format, reads it back and
// scores a row whose second column is missing (imputed with its training
// mean). scikit-learn's LogisticRegression on the same imputed rows gives
// 0.7960 too.
func ExampleTrainLogistic() {
	nan := math.NaN()
	data := &model.TrainData{
		Columns: []string{"opens_30d", "is_vip"},
		X: []float64{
			0, 0,
			1, 0,
			2, nan,
			3, 1,
			4, 0,
			5, 1,
			6, 1,
			7, 0,
		},
		Y: []float64{0, 0, 1, 0, 1, 1, 1, 1},
	}
	m, err := model.TrainLogistic(context.Background(), data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	file, err := json.Marshal(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := model.ParseLinear(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := loaded.Predict([]float64{4, nan}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("means %.3f\n", loaded.Means())
	fmt.Printf("P(class 1) = %.4f\n", p[0])

	probs := make([]float64, len(data.Y))
	for i := range probs {
		out, _ := loaded.Predict(data.X[2*i:2*i+2], nil)
		probs[i] = out[0]
	}
	auc, _ := model.AUC(data.Y, probs)
	fmt.Printf("training AUC %.4f\n", auc)
	// Output:
	// means [3.500 0.429]
	// P(class 1) = 0.7960
	// training AUC 0.9333
}
