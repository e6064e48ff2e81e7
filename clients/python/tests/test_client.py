"""Tests of the Python client.

The client's own pieces (multipart body, errors, URL, values) run anywhere.
The server tests need a real `slipway serve` at SLIPWAY_URL on the
quickstart demo (`slipway quickstart`) with two endpoints applied:
`py_purchase` over purchase_model (alias production) and
`py_purchase_staging` over its alias staging, and a model py_failing_model
whose trainer command exits 3. The tests register, train
and promote versions of purchase_model (aliases other than production).
cmd/slipway/python_client_test.go sets this up and runs them:

    SLIPWAY_URL=http://127.0.0.1:8080 /usr/bin/python3 -m unittest discover -s clients/python/tests -t clients/python

Without SLIPWAY_URL the server tests are skipped.
"""

import datetime
import email.parser
import email.policy
import hashlib
import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from slipway import Client, JobFailedError, SlipwayError  # noqa: E402
from slipway.client import _json_default, _multipart  # noqa: E402

try:
    import pandas
except ImportError:
    pandas = None
try:
    import numpy
    import xgboost
except ImportError:
    numpy = xgboost = None

URL = os.environ.get("SLIPWAY_URL", "")
TRAINING_SET = "purchase_propensity"
MODEL = "purchase_model"
ENDPOINT = "py_purchase"
STAGING_ENDPOINT = "py_purchase_staging"
EXPERIMENT_ENDPOINT = "py_experiment"
EXPERIMENT = "py_aa_test"
MONITOR = "py_health"


class MultipartTest(unittest.TestCase):
    def test_parts_read_back(self):
        # Bytes that look like a boundary or hold CR LF must come back as sent.
        artifact = b'{"learner": 1}\r\n--slipway-x\r\n\x00\xff'
        body, content_type = _multipart([("training_set", "ts:v2"), ("by", "ana")],
                                        [("artifact", "model.json", artifact), ("schema", "schema.json", b"{}")])
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        self.assertTrue(msg.is_multipart())
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        self.assertEqual(sorted(parts), ["artifact", "by", "schema", "training_set"])
        self.assertEqual(parts["training_set"].get_payload(decode=True), b"ts:v2")
        self.assertEqual(parts["by"].get_payload(decode=True), b"ana")
        self.assertEqual(parts["artifact"].get_payload(decode=True), artifact)
        self.assertEqual(parts["artifact"].get_filename(), "model.json")
        self.assertEqual(parts["schema"].get_payload(decode=True), b"{}")


class _ProxyPage(http.server.BaseHTTPRequestHandler):
    """A server that is not Slipway: answers 502 with an HTML page."""

    def do_GET(self):
        page = b"<html><body>bad gateway</body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):
        pass


class ErrorsWithoutSlipwayTest(unittest.TestCase):
    def test_unreachable(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # Nothing listens on port any more.
        c = Client("http://127.0.0.1:%d" % port, timeout=5)
        with self.assertRaises(SlipwayError) as cm:
            c.list_models()
        e = cm.exception
        self.assertIsNone(e.status)
        self.assertEqual(e.code, "unreachable")
        self.assertIn("cannot reach the slipway server at http://127.0.0.1:%d" % port, str(e))
        self.assertIn("slipway serve", str(e))

    def test_answer_not_from_slipway(self):
        srv = http.server.HTTPServer(("127.0.0.1", 0), _ProxyPage)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        url = "http://127.0.0.1:%d" % srv.server_address[1]
        with self.assertRaises(SlipwayError) as cm:
            Client(url).list_models()
        e = cm.exception
        self.assertEqual(e.status, 502)
        self.assertEqual(e.code, "")
        self.assertIn("GET %s/v1/models: 502" % url, str(e))
        self.assertIn("bad gateway", str(e))

    def test_no_answer_in_time(self):
        # A listener that accepts connections and never answers.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.addCleanup(srv.close)
        url = "http://127.0.0.1:%d" % srv.getsockname()[1]
        with self.assertRaises(SlipwayError) as cm:
            Client(url, timeout=0.5).show_model("m")
        e = cm.exception
        self.assertEqual((e.status, e.code), (None, "timeout"))
        self.assertIn("GET %s/v1/models/m: no answer from the slipway server within 0.5s" % url, str(e))

    def test_bad_url(self):
        with self.assertRaises(ValueError):
            Client("ftp://example.com")
        self.assertEqual(Client("127.0.0.1:9").url, "http://127.0.0.1:9")
        self.assertEqual(Client("http://h:1/").url, "http://h:1")

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_values(self):
        body = json.dumps([numpy.int64(3), numpy.bool_(True), numpy.float32(1.5)], default=_json_default)
        self.assertEqual(json.loads(body), [3, True, 1.5])
        self.assertIsNone(_json_default(numpy.float32("nan")))


@unittest.skipUnless(URL, "SLIPWAY_URL is not set: no server to test against (cmd/slipway/python_client_test.go runs these)")
class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Client(URL, by="py-test")
        ts = cls.c.show("training_set", TRAINING_SET)
        cls.feature_refs = ["%s:%s" % (f["name"], f["variant"]) for f in ts["training_set"]["features"]]
        cls.csv = cls.c.training_set(TRAINING_SET)
        lines = cls.csv.splitlines()
        cls.header = lines[0].split(",")
        entity_col = cls.header.index("subscriber")
        cls.entities = sorted({line.split(",")[entity_col] for line in lines[1:]})

    # --- online features and predictions ---------------------------------

    def test_online_features(self):
        entities = self.entities[:50] + ["nobody-at-all"]
        resp = self.c.online_features(["subscriber_region", "opens_30d:v1"], entities)
        self.assertEqual(resp["entity"], "subscriber")
        self.assertEqual(resp["features"], ["subscriber_region:default", "opens_30d:v1"])
        self.assertEqual([r["entity"] for r in resp["results"]], entities)
        self.assertEqual(resp["results"][-1]["statuses"], ["not_found", "not_found"])
        # subscriber_region is static: served as every training row has it.
        region = self.header.index("subscriber_region")
        entity = self.header.index("subscriber")
        trained = {}
        for line in self.csv.splitlines()[1:]:
            cells = line.split(",")
            trained[cells[entity]] = cells[region]
        for r in resp["results"][:-1]:
            self.assertEqual(r["statuses"][0], "found", r)
            self.assertEqual(r["values"][0], trained[r["entity"]], r)
        if pandas is not None:
            frame = self.c.online_features(["subscriber_region", "opens_30d:v1"], entities, as_frame=True)
            self.assertEqual(list(frame.columns), ["subscriber_region:default", "opens_30d:v1"])
            self.assertEqual(list(frame.index), entities)
            self.assertEqual(frame.loc[entities[0], "subscriber_region:default"], trained[entities[0]])

    def test_online_features_errors(self):
        with self.assertRaises(SlipwayError) as cm:
            self.c.online_features(["opens_30d:v9"], ["sub_1"])
        e = cm.exception
        self.assertEqual((e.status, e.code), (404, "unknown_feature"))
        self.assertIn("opens_30d:v9", str(e))
        self.assertRegex(e.request_id, r"^[0-9a-f]{16}$")
        with self.assertRaises(SlipwayError) as cm:
            self.c.online_features([], ["sub_1"])
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "invalid_request"))

    def test_predict(self):
        production = self.c.model_version(MODEL)
        resp = self.c.predict(ENDPOINT, [self.entities[0], "nobody-at-all"])
        self.assertEqual((resp["endpoint"], resp["model"], resp["alias"], resp["version"], resp["task"]),
                         (ENDPOINT + ":default", MODEL, "production", production["version"], "binary_classification"))
        self.assertEqual(resp["features"], [f["name"] for f in production["encoding"]["features"]])
        self.assertEqual([p["entity"] for p in resp["predictions"]], [self.entities[0], "nobody-at-all"])
        for p in resp["predictions"]:
            self.assertTrue(0 <= p["probability"] <= 1, p)
            self.assertEqual(p["class"], 1 if p["probability"] > 0.5 else 0, p)
            self.assertEqual(p["version"], production["version"])
        self.assertEqual(resp["predictions"][1]["missing"], resp["features"])
        ids = [p["id"] for p in resp["predictions"]]
        self.assertEqual(len(set(ids)), 2)

    def test_predict_errors(self):
        with self.assertRaises(SlipwayError) as cm:
            self.c.predict("no_such_endpoint", ["sub_1"])
        self.assertEqual(cm.exception.status, 404)
        self.assertIn("no_such_endpoint", str(cm.exception))
        with self.assertRaises(SlipwayError) as cm:
            self.c.predict(ENDPOINT, ["sub_1"], features=[{"opens_30d": "many"}])
        e = cm.exception
        self.assertEqual((e.status, e.code), (400, "invalid_request"))
        self.assertIn("opens_30d", str(e))
        with self.assertRaises(ValueError):
            self.c.predict(ENDPOINT, ["sub_1", "sub_2"], features=[{}])

    def test_feedback(self):
        pred = self.c.predict(ENDPOINT, [self.entities[0]])["predictions"][0]
        ids = self.c.feedback([{"id": "py-" + pred["id"], "prediction_id": pred["id"], "name": "relevant", "value": True},
                               {"endpoint": ENDPOINT, "entity": self.entities[0], "name": "spent", "value": 12.5,
                                "event_time": datetime.datetime.now(datetime.timezone.utc)}])
        self.assertEqual(len(ids), 2)
        self.assertEqual(ids[0], "py-" + pred["id"])
        with self.assertRaises(SlipwayError) as cm:
            self.c.feedback([{"prediction_id": pred["id"], "name": "relevant", "value": "yes"}])
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "invalid_request"))
        self.assertIn("events[0]", str(cm.exception))
        with self.assertRaises(TypeError):
            self.c.feedback({"name": "relevant"})
        # Shipped within a few seconds: status counts the event, matched.
        deadline = time.time() + 15
        while True:
            names = {n["name"]: n for n in self.c.feedback_status()["names"]}
            if names.get("relevant", {}).get("matched", 0) >= 1:
                break
            self.assertLess(time.time(), deadline, names)
            time.sleep(0.5)

    # --- experiments and the loop ---------------------------------------------

    def test_experiment(self):
        resp = self.c.predict(EXPERIMENT_ENDPOINT, self.entities[:20])
        arms = {p["arm"] for p in resp["predictions"]}
        self.assertTrue(arms <= {"control", "treatment"} and arms, resp["predictions"])
        for p in resp["predictions"]:
            self.assertEqual(p["experiment"], EXPERIMENT, p)
        rep = self.c.experiment_report(EXPERIMENT)
        self.assertEqual(rep["state"], "running")
        self.assertEqual([a["name"] for a in rep["report"]["arms"]], ["control", "treatment"])
        # Exposures count once their 7-day window has ended: none yet.
        self.assertEqual([a["n"] for a in rep["report"]["arms"]], [0, 0])
        self.assertFalse(rep["report"]["srm"]["flagged"])
        with self.assertRaises(SlipwayError) as cm:
            self.c.conclude_experiment(EXPERIMENT, "nobody")
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("control, treatment", str(cm.exception))
        done = self.c.conclude_experiment(EXPERIMENT, "control", by="py-test")
        self.assertEqual((done["winner"]["name"], done["moved"]), ("control", False))
        self.assertEqual(self.c.experiment_report(EXPERIMENT)["state"], "concluded")
        with self.assertRaises(SlipwayError) as cm:
            self.c.stop_experiment(EXPERIMENT, reason="again")
        self.assertEqual(cm.exception.status, 409)
        with self.assertRaises(SlipwayError) as cm:
            self.c.experiment_report("no_such_experiment")
        self.assertEqual(cm.exception.status, 404)

    def test_loop_status(self):
        st = self.c.loop_status(MODEL)
        self.assertEqual(st["model"], MODEL)
        steps = [s["step"] for s in st["steps"]]
        self.assertIn("serving", steps)
        self.assertIn("training", steps)
        with self.assertRaises(SlipwayError) as cm:
            self.c.loop_status("no_such_model")
        self.assertEqual(cm.exception.status, 404)

    def test_freshness(self):
        rep = self.c.freshness()
        self.assertEqual(rep["fresh"] + rep["stale"] + rep["never_materialized"], len(rep["features"]))
        by_name = {f["feature"]: f for f in rep["features"]}
        self.assertEqual(by_name["opens_30d:v1"]["status"], "fresh")
        self.assertEqual(by_name["opens_30d:v1"]["max_age_seconds"], 30 * 86400)
        # Forty days after its newest value it is stale, by that age.
        newest = by_name["opens_30d:v1"]["newest_event_time"]
        at = (datetime.datetime.fromisoformat(newest.replace("Z", "+00:00")) + datetime.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
        late = self.c.freshness(["opens_30d:v1"], now=at)
        self.assertEqual(len(late["features"]), 1)
        f = late["features"][0]
        self.assertEqual(f["status"], "stale")
        self.assertTrue(f["reason"].startswith("newest value is 40d"), f["reason"])
        with self.assertRaises(SlipwayError) as cm:
            self.c.freshness(["no_such_feature"])
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(SlipwayError) as cm:
            self.c.freshness(grace="soon")
        self.assertEqual(cm.exception.status, 400)

    # --- monitors -------------------------------------------------------------

    def test_monitor(self):
        # py_health checks freshness and skew of py_purchase, which serves
        # the quickstart's model: its features are fresh.
        res = self.c.run_monitor(MONITOR, by="py-test")
        self.assertEqual(res["monitor"], MONITOR)
        self.assertGreater(res["pass"] + res["warn"] + res["fail"], 0, res)
        rep = self.c.monitor_report(MONITOR, runs=1)
        self.assertEqual(rep["endpoint"], "py_purchase:default")
        self.assertEqual(rep["checks"], ["freshness", "skew"])
        self.assertEqual(len(rep["runs"]), 1)
        self.assertEqual(rep["runs"][0]["run"], res["run"])
        self.assertEqual((rep["runs"][0]["pass"], rep["runs"][0]["warn"], rep["runs"][0]["fail"]), (res["pass"], res["warn"], res["fail"]))
        fresh = [r for r in rep["latest"] if r["check"] == "freshness"]
        self.assertTrue(fresh, rep["latest"])
        for r in fresh:
            self.assertEqual(r["state"], "pass", r)
            self.assertEqual(r["run"], res["run"], r)
        with self.assertRaises(SlipwayError) as cm:
            self.c.monitor_report("no_such_monitor")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(SlipwayError) as cm:
            self.c.monitor_report(MONITOR, runs=0)
        self.assertEqual(cm.exception.status, 400)

    # --- training sets ------------------------------------------------------

    def test_training_set(self):
        self.assertEqual(self.header[:2], ["subscriber", "timestamp"])
        self.assertEqual(self.header[-1], "purchased_7d")
        rows = len(self.csv.splitlines()) - 1
        self.assertGreater(rows, 1000)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ts.csv")
            self.assertEqual(self.c.training_set(TRAINING_SET, path=path), path)
            with open(path) as f:
                self.assertEqual(f.readline().rstrip("\n").split(","), self.header)
                self.assertEqual(sum(1 for _ in f), rows)
        if pandas is not None:
            frame = self.c.training_set(TRAINING_SET, as_frame=True)
            self.assertEqual(list(frame.columns), self.header)
            self.assertEqual(len(frame), rows)
            self.assertTrue(pandas.api.types.is_datetime64_any_dtype(frame["timestamp"]))
        with self.assertRaises(SlipwayError) as cm:
            self.c.training_set("no_such_set")
        self.assertEqual(cm.exception.status, 404)
        self.assertIn("no_such_set", str(cm.exception))

    def test_export_encoded(self):
        text, schema = self.c.export_encoded(TRAINING_SET)
        lines = text.splitlines()
        self.assertEqual(lines[0].split(","), schema["columns"])
        self.assertEqual(schema["training_set"], TRAINING_SET + ":default")
        self.assertEqual(schema["label"], "purchased_7d")
        cols = schema["columns"]
        for spec in schema["encoding"]["features"]:
            if spec["type"] != "string":
                continue
            i = cols.index(spec["name"])
            codes = {line.split(",")[i] for line in lines[1:]} - {""}
            self.assertTrue(codes, spec["name"])
            self.assertTrue(all(0 <= int(c) < len(spec["vocabulary"]) for c in codes), (spec["name"], codes))
        label = cols.index("purchased_7d")
        self.assertEqual({line.split(",")[label] for line in lines[1:]}, {"0", "1"})

    # --- models -------------------------------------------------------------

    def test_list_and_show_models(self):
        models = {m["model"]: m for m in self.c.list_models()}
        self.assertIn(MODEL, models)
        self.assertIn("production", [a["alias"] for a in models[MODEL]["aliases"]])
        shown = self.c.show_model(MODEL)
        self.assertEqual(shown["model"], MODEL)
        self.assertEqual(shown["definitions"][0]["name"], MODEL)
        self.assertGreaterEqual(len(shown["versions"]), 1)
        production = [a for a in shown["aliases"] if a["alias"] == "production"][0]
        self.assertEqual(production["history"][0]["from"], 0)
        with self.assertRaises(SlipwayError) as cm:
            self.c.show_model("no_such_model")
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertIn("no_such_model", str(cm.exception))

    def _two_versions(self):
        """Trains purchase_model until it has two versions; returns the newest."""
        result = self.c.train(MODEL)
        self.assertEqual(result["model"], MODEL)
        self.assertGreaterEqual(result["version"], 2)
        return result["version"]

    def test_train(self):
        before = self.c.show_model(MODEL)["versions"][0]["version"]
        result = self.c.train(MODEL)
        self.assertGreater(result["version"], before)
        self.assertEqual(result["alias"], "production")
        self.assertIn("auc", result["metrics"])
        self.assertIsInstance(result["promoted"], bool)
        self.assertTrue(result["reason"])
        v = self.c.model_version(MODEL, version=result["version"])
        self.assertEqual((v["created_by"], v["metrics"]), ("py-test", result["metrics"]))
        with self.assertRaises(SlipwayError) as cm:
            self.c.train("no_such_model")
        self.assertEqual(cm.exception.status, 404)

    def test_train_fails(self):
        with self.assertRaises(JobFailedError) as cm:
            self.c.train("py_failing_model")
        e = cm.exception
        self.assertIsInstance(e, SlipwayError)
        self.assertIsNone(e.status)
        self.assertEqual((e.code, e.job["status"], e.job["kind"]), ("job_failed", "failed", "train"))
        self.assertIn("exit status 3", e.job["error"])
        self.assertIn("job %d (train py_failing_model:default) failed: " % e.job["id"], str(e))

    def test_promote_and_rollback(self):
        newest = self._two_versions()
        alias = "py_promote_" + uuid.uuid4().hex[:8]  # a new alias each run
        a = self.c.promote(MODEL, 1, alias=alias)
        self.assertEqual((a["model"], a["alias"], a["version"], a["updated_by"]), (MODEL, alias, 1, "py-test"))
        self.assertEqual(self.c.promote(MODEL, newest, alias=alias)["version"], newest)
        self.assertEqual(self.c.model_version(MODEL, alias=alias)["version"], newest)
        self.assertEqual(self.c.rollback(MODEL, alias=alias, by="someone")["version"], 1)
        history = [a for a in self.c.show_model(MODEL)["aliases"] if a["alias"] == alias][0]["history"]
        self.assertEqual([(m["from"], m["to"], m["by"]) for m in history],
                         [(0, 1, "py-test"), (1, newest, "py-test"), (newest, 1, "someone")])

        with self.assertRaises(SlipwayError) as cm:
            self.c.promote(MODEL, 9999, alias=alias)
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertIn("9999", str(cm.exception))
        once = "py_once_" + uuid.uuid4().hex[:8]
        self.c.promote(MODEL, 1, alias=once)
        with self.assertRaises(SlipwayError) as cm:
            self.c.rollback(MODEL, alias=once)
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "invalid_request"))
        self.assertIn("nothing to roll back to", str(cm.exception))

    def test_register_refused(self):
        with self.assertRaises(SlipwayError) as cm:
            self.c.register_model(MODEL, b"this is no model", TRAINING_SET)
        e = cm.exception
        self.assertEqual((e.status, e.code), (400, "invalid_request"))
        self.assertIn("supported formats are", str(e))

    @unittest.skipIf(xgboost is None or pandas is None, "xgboost, numpy and pandas are needed")
    def test_xgboost_from_a_notebook(self):
        """An XGBoost model trained on the encoded export, registered,
        promoted to staging and served by py_purchase_staging predicts what
        XGBoost predicts on the served features, encoded by the schema."""
        matrix, schema = self.c.export_encoded(TRAINING_SET, as_frame=True)
        names = schema["features"]
        booster = xgboost.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3},
                                xgboost.DMatrix(matrix[names].values, label=matrix[schema["label"]].values,
                                                missing=float("nan")), num_boost_round=30)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.json")
            booster.save_model(path)
            with open(path, "rb") as f:
                raw = f.read()
            v = self.c.register_model(MODEL, path, TRAINING_SET, schema=schema)
        self.assertEqual((v["model"], v["format"], v["trainer"], v["created_by"]), (MODEL, "xgboost-json", "registered", "py-test"))
        self.assertEqual(v["sha256"], hashlib.sha256(raw).hexdigest())
        self.assertEqual(v["training_set"], TRAINING_SET + ":default")
        self.assertIn("auc", v["metrics"])
        with self.assertRaises(SlipwayError) as cm:
            self.c.register_model(MODEL, raw, "no_such_set", schema=schema)
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertIn("no_such_set", str(cm.exception))
        self.c.promote(MODEL, v["version"], alias="staging")

        entities = self.entities[:300] + ["nobody-at-all"]
        # The endpoint reads its alias again within its refresh interval.
        deadline = time.monotonic() + 60
        while True:
            try:
                resp = self.c.predict(STAGING_ENDPOINT, entities)
                if resp["version"] == v["version"]:
                    break
            except SlipwayError as e:
                if e.status != 503 and e.code != "model_unavailable":
                    raise
            if time.monotonic() > deadline:
                self.fail(STAGING_ENDPOINT + " does not serve version %d a minute after its promotion" % v["version"])
            time.sleep(0.2)
        self.assertEqual(resp["features"], names)

        served = self.c.online_features(self.feature_refs, entities)
        rows = [_encode(schema["encoding"], r["values"]) for r in served["results"]]
        want = booster.predict(xgboost.DMatrix(numpy.array(rows, dtype=float), missing=float("nan")))
        for p, w, r in zip(resp["predictions"], want, served["results"]):
            self.assertEqual(p["entity"], r["entity"])
            self.assertAlmostEqual(p["probability"], float(w), delta=1e-6, msg=p["entity"])
            missing = [n for n, val, st in zip(names, r["values"], r["statuses"]) if val is None or st != "found"]
            self.assertEqual(sorted(p["missing"] + p["outside_max_age"]), sorted(missing), p["entity"])

        # Request-time values replace the stored ones: a pandas row, NaN
        # meaning missing.
        raw_rows = self.c.training_set(TRAINING_SET, as_frame=True)
        row = raw_rows.iloc[0]
        given = {n: (bool(row[n]) if isinstance(row[n], (bool, numpy.bool_)) else row[n]) for n in names}
        resp = self.c.predict(STAGING_ENDPOINT, [row["subscriber"]], features=[given])
        values = [None if isinstance(given[n], float) and given[n] != given[n] else given[n] for n in names]
        values = [x.item() if hasattr(x, "item") else x for x in values]
        want = booster.predict(xgboost.DMatrix(numpy.array([_encode(schema["encoding"], values)], dtype=float),
                                               missing=float("nan")))
        self.assertAlmostEqual(resp["predictions"][0]["probability"], float(want[0]), delta=1e-6)
        self.assertEqual(sorted(resp["predictions"][0]["missing"]), sorted(n for n, x in zip(names, values) if x is None))


def _encode(encoding, values):
    """A row encoded as the schema says (ordinal strings, bool 0/1, missing NaN):
    the test's cross-check of Slipway's encoder."""
    out = []
    for spec, val in zip(encoding["features"], values):
        if val is None:
            out.append(float("nan"))
        elif spec["type"] == "string":
            vocab = spec["vocabulary"]
            out.append(float(vocab.index(val)) if val in vocab else float("nan"))
        elif spec["type"] == "bool":
            out.append(1.0 if val else 0.0)
        else:
            out.append(float(val))
    return out


if __name__ == "__main__":
    unittest.main()
