package model_test

import (
	"fmt"
	"log"
	"math"
	"os"

	"github.com/slipway-ml/slipway/model"
)

func ExampleLoadXGBoost() {
	f, err := os.Open("testdata/small_binary.json") // Booster.save_model("small_binary.json")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := model.LoadXGBoost(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Objective(), m.NumFeatures(), "features", m.NumTrees(), "trees")

	out := make([]float64, 0, m.NumOutputs()) // reused across rows: no allocation
	for _, row := range [][]float64{
		{1.2, -0.3, 0.5},
		{-1.2, -0.3, 0.5},
		{math.NaN(), -0.3, 0.5}, // missing: follows the learned default direction
	} {
		if out, err = m.Predict(row, out); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("P(class 1) = %.4f\n", out[0])
	}
	_, err = m.Predict([]float64{1, 2}, out)
	fmt.Println(err)
	// Output:
	// binary:logistic 3 features 4 trees
	// P(class 1) = 0.8527
	// P(class 1) = 0.1454
	// P(class 1) = 0.1454
	// feature vector has 2 values but the model expects 3
}
