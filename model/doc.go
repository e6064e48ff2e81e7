// Package model is feature-vector encoding, model formats and inference (pure
// Go): what turns a training set's features into a model's input vector, and
// what scores that vector with a trained model without Python at serving time.
//
// The feature vector: an [Encoding], built in one pass over a training set's
// rows ([NewEncodingBuilder]) and stored with the model, turns a row of
// feature values into float64 columns, identically at training and serving;
// nulls and unknown categories are NaN, which the models treat as missing
// (docs/design/model-encoding.md).
//
// Inference formats:
//
//   - XGBoost JSON models (what Booster.save_model("x.json") writes in
//     XGBoost 1.x and 2.x), read by [LoadXGBoost]: gbtree boosters with
//     numeric splits and learned directions for missing values (NaN), and the
//     objectives binary:logistic, reg:squarederror, reg:logistic and
//     multi:softprob. Predictions equal XGBoost's own Booster.predict to 1e-6
//     (see docs/design/models.md for how that is kept and tested).
//   - slipway-linear, the linear and logistic models of the built-in trainers
//     ([TrainLogistic], [TrainLinear]), read by [ParseLinear].
//
// [Load] reads either format as a [Predictor] ([DetectFormat] names the
// format of an unnamed file), and a [Scorer] pairs it with its encoding: the
// one path from feature values to predictions, for validation, `slipway
// score` ([ScoreCSV]) and serving. [EncodedWriter] and [Schema] are the
// encoded training files a notebook or command trainer reads.
//
// Metrics for validation ([AUC], [LogLoss], [Accuracy], [RMSE], [MAE], and
// [Evaluate] for a task's set, multiclass included) equal scikit-learn's.
//
// A loaded model is immutable and safe for concurrent use; prediction
// allocates nothing when the caller passes an output slice with room.
package model
