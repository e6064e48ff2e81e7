package model_test

import (
	"fmt"
	"log"
	"os"

	"github.com/slipway-ml/slipway/model"
	"github.com/slipway-ml/slipway/value"
)

func ExampleScorer() {
	// The encoding comes from the training set (stored with the model
	// version); here it is built from three training rows.
	b, err := model.NewEncodingBuilder([]model.Feature{
		{Name: "opens_30d", Type: value.Int64},
		{Name: "avg_order_value", Type: value.Float64},
		{Name: "region", Type: value.String},
	}, model.EncodingConfig{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range [][]value.Value{
		{value.FromInt64(3), value.FromFloat64(20.5), value.FromString("de")},
		{value.FromInt64(0), value.NullValue(), value.FromString("uk")},
		{value.FromInt64(7), value.FromFloat64(4), value.FromString("fr")},
	} {
		if err := b.Add(r); err != nil {
			log.Fatal(err)
		}
	}
	enc, err := b.Encoding()
	if err != nil {
		log.Fatal(err)
	}

	// The model: an XGBoost JSON file, as a trainer wrote it.
	data, err := os.ReadFile("testdata/small_binary.json")
	if err != nil {
		log.Fatal(err)
	}
	format, err := model.DetectFormat(data)
	if err != nil {
		log.Fatal(err)
	}
	p, err := model.Load(format, data)
	if err != nil {
		log.Fatal(err)
	}
	s, err := model.NewScorer(enc, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(format, s.Task(), s.OutputNames())

	// Raw feature values in, predictions out: one per row.
	preds, err := s.ScoreRows([][]value.Value{
		{value.FromInt64(2), value.FromFloat64(12), value.FromString("uk")},
		{value.NullValue(), value.FromFloat64(3), value.FromString("jp")}, // null and an unseen region are missing
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f %.4f\n", preds[0], preds[1])

	// A row of the wrong type names its index and the feature.
	_, err = s.ScoreRows([][]value.Value{{value.FromString("2"), value.NullValue(), value.NullValue()}}, nil)
	fmt.Println(err)
	// Output:
	// xgboost-json binary_classification [prediction]
	// 0.8527 0.1454
	// rows[0]: row does not match the model's features: feature "opens_30d" is int64 but the value "2" is string: pass a int64 or null
}
