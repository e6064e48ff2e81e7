// Package model is feature-vector encoding, model formats and inference (pure
// Go): what turns a training set's features into a model's input vector, and
// what scores that vector with a trained model without Python at serving time.
//
// Inference formats:
//
//   - XGBoost JSON models (what Booster.save_model("x.json") writes in
//     XGBoost 1.x and 2.x), read by [LoadXGBoost]: gbtree boosters with
//     numeric splits and learned directions for missing values (NaN), and the
//     objectives binary:logistic, reg:squarederror, reg:logistic and
//     multi:softprob. Predictions equal XGBoost's own Booster.predict to 1e-6
//     (see docs/design/models.md for how that is kept and tested).
//
// A loaded model is immutable and safe for concurrent use; prediction
// allocates nothing when the caller passes an output slice with room.
package model
