"""The Client class: Slipway's HTTP API (docs/http-api.md) from Python.

Standard library only. Each method is one operation of the API, with the
meaning the CLI and the Go client (package client) give it; the answers are
the API's JSON, as dicts and lists.
"""

import getpass
import io
import json
import os
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

DEFAULT_URL = "http://127.0.0.1:8080"
"""The server a Client reaches when neither its url nor SLIPWAY_SERVER names one."""

DEFAULT_ALIAS = "production"

_ENDED = ("succeeded", "failed", "cancelled")


class SlipwayError(Exception):
    """An error the Slipway server answered, or a server that did not answer.

    status is the HTTP status (None when the server could not be reached,
    did not answer in time, or a job failed), code the API's error code for
    programs ("not_found", "invalid_request", "conflict", ...; "unreachable"
    and "timeout" from the client itself), message the server's
    text for people (str(error) is the message), request_id the id that
    finds the request in the server log, and detail the whole "error" object
    of the answer (with "problems" or "plan" for the errors that carry them).
    """

    def __init__(self, message, status=None, code="", request_id="", detail=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.detail = detail or {}

    def __str__(self):
        return self.message


class JobFailedError(SlipwayError):
    """A job the call waited for ended without succeeding.

    job is the first such job as GET /v1/jobs/{id} shows it (its "error"
    says why); jobs are all the jobs the call waited for.
    """

    def __init__(self, message, job, jobs):
        super().__init__(message, code="job_" + job.get("status", "failed"))
        self.job = job
        self.jobs = jobs


def _quote(segment: str) -> str:
    # A name:variant reference keeps its colon; anything else a path
    # segment cannot hold is escaped.
    return urllib.parse.quote(str(segment), safe=":")


def _default_user() -> Optional[str]:
    try:
        return getpass.getuser() or None
    except Exception:  # no login name (a container without a passwd entry)
        return None


def _read_bytes(what: str, data: Any) -> bytes:
    """Bytes of data: bytes-like as they are, a str or path-like as a file to read."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as f:
            return f.read()
    raise TypeError("%s: give the file's path or its bytes, not %s" % (what, type(data).__name__))


def _pandas(why: str):
    try:
        import pandas  # noqa: F401  (optional: only for as_frame)
    except ImportError:
        raise ImportError("%s needs pandas, which is not installed (pip install pandas, or apt-get install "
                          "python3-pandas); without as_frame=True the answer is CSV text" % why) from None
    return pandas


class Client:
    """A client of one Slipway server (`slipway serve`).

    url is the server's base URL (default: the SLIPWAY_SERVER environment
    variable, else http://127.0.0.1:8080). timeout bounds each HTTP request's
    connect and every read, in seconds; waiting for jobs is bounded by the
    calls' own wait arguments. by names who trains, registers and moves
    aliases (recorded by the server); the default is the login name, as the
    CLI's.
    """

    def __init__(self, url: Optional[str] = None, timeout: float = 60.0, by: Optional[str] = None):
        url = url or os.environ.get("SLIPWAY_SERVER") or DEFAULT_URL
        if "://" not in url:
            url = "http://" + url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("slipway server URL %r: give http://HOST:PORT (as `slipway serve` prints it)" % url)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.by = by if by is not None else _default_user()
        self._opener = urllib.request.build_opener()

    def __repr__(self):
        return "Client(%r)" % self.url

    # --- HTTP -------------------------------------------------------------

    def _open(self, method: str, path: str, body: Any = None, data: Optional[bytes] = None,
              content_type: Optional[str] = None):
        """Sends one request and returns the open response (2xx), or raises SlipwayError."""
        url = self.url + path
        if body is not None:
            data = json.dumps(body, default=_json_default, allow_nan=False).encode("utf-8")
            content_type = "application/json"
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            return self._opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raise self._error(e, method, path) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise SlipwayError("%s %s%s: no answer from the slipway server within %gs (Client's timeout; give a larger "
                                   "one for slow calls)" % (method, self.url, path, self.timeout), code="timeout") from None
            raise SlipwayError("cannot reach the slipway server at %s: %s; is `slipway serve` running?" % (self.url, reason),
                               code="unreachable") from None

    def _error(self, e: "urllib.error.HTTPError", method: str, path: str) -> SlipwayError:
        raw = e.read()
        request_id = e.headers.get("X-Request-Id", "") if e.headers else ""
        try:
            detail = json.loads(raw.decode("utf-8"))["error"]
            message = detail["message"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            # Not the API's error body: a proxy's page, another server.
            text = raw[:200].decode("utf-8", "replace").strip()
            return SlipwayError("%s %s%s: %d %s%s" % (method, self.url, path, e.code, e.reason, ": " + text if text else ""),
                                status=e.code, request_id=request_id)
        return SlipwayError(message, status=e.code, code=detail.get("code", ""),
                            request_id=detail.get("request_id", request_id), detail=detail)

    def _json(self, method: str, path: str, body: Any = None, data: Optional[bytes] = None,
              content_type: Optional[str] = None) -> Any:
        with self._open(method, path, body, data, content_type) as resp:
            raw = resp.read()
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError as e:
            raise SlipwayError("reading the answer of %s %s%s: %s" % (method, self.url, path, e)) from None

    def _by(self, by: Optional[str]) -> Dict[str, str]:
        by = by if by is not None else self.by
        return {"by": by} if by else {}

    # --- jobs -------------------------------------------------------------

    def job(self, job_id: int) -> Dict[str, Any]:
        """One job as GET /v1/jobs/{id} shows it."""
        return self._json("GET", "/v1/jobs/%d" % int(job_id))

    def wait(self, jobs: Sequence[Dict[str, Any]], timeout: Optional[float] = None) -> List[Dict[str, Any]]:
        """Waits until every job has ended and returns them as they ended.

        Raises JobFailedError when one did not succeed, and TimeoutError when
        timeout (seconds; None: no limit) passes first (the jobs go on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        poll = 0.02
        while True:
            current = [self.job(j["id"]) for j in jobs]
            if all(j["status"] in _ENDED for j in current):
                break
            if deadline is not None and time.monotonic() >= deadline:
                running = ", ".join("%d (%s)" % (j["id"], j["status"]) for j in current if j["status"] not in _ENDED)
                raise TimeoutError("jobs %s have not ended after %gs; they go on: follow them with "
                                   "`slipway jobs list` or Client.job" % (running, timeout))
            time.sleep(poll)
            poll = min(2 * poll, 0.5)
        failed = [j for j in current if j["status"] != "succeeded"]
        if failed:
            msgs = ["job %d (%s %s:%s) %s: %s" % (j["id"], j["kind"], j["resource"]["name"], j["resource"]["variant"],
                                                  j["status"], j.get("error", "")) for j in failed]
            raise JobFailedError("\n".join(msgs), failed[0], current)
        return current

    # --- serving ----------------------------------------------------------

    def online_features(self, features: Sequence[str], entities: Sequence[Union[str, int]], as_frame: bool = False):
        """The latest served values of features (name or name:variant, all of
        one entity) for a batch of entity keys: POST /v1/online-features.

        Returns the API's answer, {"entity", "features", "results": [{"entity",
        "values", "statuses", "timestamps"}, ...]} with one result per entity
        in request order; with as_frame=True a pandas DataFrame of the values,
        one row per entity (its index) and one column per feature (as
        name:variant), a value not found or outside max age being None.
        """
        if isinstance(features, str) or isinstance(entities, (str, int)):
            raise TypeError("online_features takes lists: online_features([feature, ...], [entity, ...])")
        resp = self._json("POST", "/v1/online-features", {"features": list(features), "entities": list(entities)})
        if not as_frame:
            return resp
        pd = _pandas("online_features(as_frame=True)")
        rows = resp["results"]
        return pd.DataFrame([r["values"] for r in rows], index=pd.Index([r["entity"] for r in rows], name=resp["entity"]),
                            columns=resp["features"])

    def predict(self, endpoint: str, entities: Sequence[Union[str, int]],
                features: Optional[Sequence[Optional[Dict[str, Any]]]] = None) -> Dict[str, Any]:
        """Predictions of an endpoint (name or name:variant) for a batch of
        entity keys: POST /v1/endpoints/{name}/predict.

        features, when given, are request-time feature values, one dict (or
        None) per entity in the order of entities: each maps a feature of the
        served model (by its column name, or name:variant) to the value to
        use instead of the stored one, or when none is stored.

        Returns the API's answer: {"endpoint", "model", "alias", "version",
        "task", "features", "predictions": [{"id", "entity", "model",
        "version", "probability" and "class", or "value", "missing",
        "outside_max_age"}, ...]}, one prediction per entity in order.
        """
        if isinstance(entities, (str, int)):
            raise TypeError("predict takes a list of entity keys: predict(endpoint, [entity, ...])")
        body = {"entities": list(entities)}  # type: Dict[str, Any]
        if features is not None:
            features = list(features)
            if len(features) != len(body["entities"]):
                raise ValueError("predict: %d feature dicts for %d entities; give one (or None) per entity"
                                 % (len(features), len(body["entities"])))
            body["features"] = [{k: _request_value(v) for k, v in (f or {}).items()} for f in features]
        return self._json("POST", "/v1/endpoints/%s/predict" % _quote(endpoint), body)

    def feedback(self, events: Sequence[Dict[str, Any]]) -> List[str]:
        """Record feedback events about predictions: POST /v1/feedback.

        Each event is a dict naming its prediction by "prediction_id" (the
        "id" of a predict answer), or by "endpoint" and "entity" (and
        "time"); "name" (what was observed: clicked, relevant, purchased)
        and "value" (True/False or a number); optionally "event_time" (a
        datetime or an RFC 3339 string; default now) and "id" (events with
        one id count once, so a retry is harmless). The events are on the
        server's disk when it answers; an invalid one refuses the whole
        batch (SlipwayError naming events[i]).

        Returns the events' ids, in order (generated where none was given).
        """
        if isinstance(events, dict):
            raise TypeError("feedback takes a list of events: feedback([{...}, ...])")
        body = {"events": [{k: _request_value(v) for k, v in e.items()} for e in events]}
        return self._json("POST", "/v1/feedback", body)["ids"]

    def feedback_status(self) -> Dict[str, Any]:
        """Feedback counts by name, matched and unmatched to logged
        predictions: GET /v1/feedback/status ({"names": [{"name", "events",
        "matched", "unmatched"}], "prediction_tables": [...]})."""
        return self._json("GET", "/v1/feedback/status")

    # --- resources ----------------------------------------------------------

    def show(self, kind: str, ref: str) -> Dict[str, Any]:
        """One registered resource (kind: entity, source, transformation,
        feature, label, training_set, model, endpoint; ref: name or
        name:variant) with its definition, status and dependents, as
        `slipway show --json` (GET /v1/resources/{kind}/{ref})."""
        return self._json("GET", "/v1/resources/%s/%s" % (_quote(kind), _quote(ref)))

    # --- training sets ----------------------------------------------------

    def _export(self, training_set: str, body: Dict[str, Any], wait: Optional[float]) -> Dict[str, Any]:
        queued = self._json("POST", "/v1/training-sets/%s/export" % _quote(training_set), body)["jobs"]
        return self.wait(queued, wait)[-1]  # the export is the last job

    def _output(self, job: Dict[str, Any], path: Optional[Union[str, os.PathLike]]):
        """The export's file (fetched once: the server then removes it):
        written to path (returned), or returned as text."""
        with self._open("GET", "/v1/jobs/%d/output" % job["id"]) as resp:
            if path is None:
                return resp.read().decode("utf-8")
            with open(path, "wb") as f:
                shutil.copyfileobj(resp, f, 1 << 20)
        return path

    def training_set(self, training_set: str, as_frame: bool = False,
                     path: Optional[Union[str, os.PathLike]] = None, wait: Optional[float] = None):
        """A point-in-time training set (name or name:variant) as CSV: the
        label rows with each feature's value as of the row's time, exported
        on the server (POST /v1/training-sets/{ref}/export, building what it
        needs) and downloaded.

        Returns the CSV text; with path, writes the file there and returns
        path; with as_frame=True a pandas DataFrame (its "timestamp" column
        parsed as datetimes). wait bounds the wait for the export jobs
        (seconds; None: no limit).
        """
        if as_frame:
            pd = _pandas("training_set(as_frame=True)")
        job = self._export(training_set, {"format": "csv"}, wait)
        out = self._output(job, path)
        if not as_frame:
            return out
        src = out if path is not None else io.StringIO(out)
        frame = pd.read_csv(src, keep_default_na=False, na_values=[""])
        if "timestamp" in frame.columns:
            frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601") \
                if _pandas_major(pd) >= 2 else pd.to_datetime(frame["timestamp"], utc=True)
        return frame

    def export_encoded(self, training_set: str, as_frame: bool = False,
                       path: Optional[Union[str, os.PathLike]] = None,
                       wait: Optional[float] = None) -> Tuple[Any, Dict[str, Any]]:
        """The model-ready matrix of a training set and its schema, as
        `slipway training-set export --encoded` writes them: features encoded
        as Slipway's models read them (numbers, bool as 0/1, strings by the
        vocabulary in the schema, an empty cell for missing).

        Returns (matrix, schema): the matrix as CSV text, the path it was
        written to (path), or a pandas DataFrame (as_frame=True, missing as
        NaN); the schema as a dict ("columns", "features", "label",
        "encoding", ...), which register_model takes as its schema.
        """
        if as_frame:
            pd = _pandas("export_encoded(as_frame=True)")
        job = self._export(training_set, {"format": "csv", "encoded": True}, wait)
        # The schema first: fetching the file removes both.
        schema = self._json("GET", "/v1/jobs/%d/schema" % job["id"])
        out = self._output(job, path)
        if not as_frame:
            return out, schema
        src = out if path is not None else io.StringIO(out)
        return pd.read_csv(src, dtype={c: "float64" for c in schema.get("features", [])}), schema

    # --- models -----------------------------------------------------------

    def list_models(self) -> List[Dict[str, Any]]:
        """Every model that is defined or has versions, by name, with its
        newest version and aliases (GET /v1/models)."""
        return self._json("GET", "/v1/models")["models"]

    def show_model(self, name: str) -> Dict[str, Any]:
        """A model's definitions, versions (newest first) and aliases with
        every move (GET /v1/models/{model})."""
        return self._json("GET", "/v1/models/%s" % _quote(name))

    def model_version(self, name: str, version: Optional[int] = None, alias: Optional[str] = None) -> Dict[str, Any]:
        """One version of a model, by number or by the alias pointing at it
        (default: production): its metrics, encoding and artifact's sha256."""
        if version is not None and alias is not None:
            raise ValueError("model_version: give a version or an alias, not both")
        if version is not None:
            return self._json("GET", "/v1/models/%s/versions/%d" % (_quote(name), int(version)))
        return self._json("GET", "/v1/models/%s/aliases/%s" % (_quote(name), _quote(alias or DEFAULT_ALIAS)))

    def train(self, name: str, variant: Optional[str] = None, by: Optional[str] = None,
              wait: Optional[float] = None) -> Dict[str, Any]:
        """Trains a model definition (name, and variant: default "default")
        on the server, as `slipway train`: builds what its training set
        needs, trains, validates on the holdout, records a version and
        promotes it as the definition says. Waits for the jobs (wait bounds
        it: seconds, None for no limit) and returns the training's result:
        {"model", "version", "metrics", "alias", "promoted", "reason"}.
        """
        body = self._by(by)
        if variant:
            body["variant"] = variant
        queued = self._json("POST", "/v1/models/%s/train" % _quote(name), body)["jobs"]
        return self.wait(queued, wait)[-1].get("result", {})

    def register_model(self, name: str, model: Union[str, os.PathLike, bytes, bytearray], training_set: str,
                       schema: Union[None, Dict[str, Any], str, os.PathLike, bytes] = None,
                       format: Optional[str] = None, by: Optional[str] = None) -> Dict[str, Any]:
        """Registers a model trained elsewhere (a notebook) as a new version
        of model name, as `slipway models register`: the server validates it
        on training_set's holdout (name or name:variant) and records it; no
        alias moves (see promote).

        model is the model file's path or its bytes (an XGBoost Booster:
        bytes(booster.save_raw("json"))). schema is the schema of the
        encoded export it was trained on: the dict export_encoded returns,
        or a schema file's path or bytes; the server refuses a model trained
        on another encoding. format is "xgboost-json" or "slipway-linear"
        (None: detected). Returns the version (201), without its bytes.
        """
        artifact = _read_bytes("register_model: model", model)
        fields = [("training_set", training_set)]
        if format:
            fields.append(("format", format))
        fields.extend(self._by(by).items())
        files = [("artifact", "model.json", artifact)]
        if schema is not None:
            if isinstance(schema, dict):
                raw = json.dumps(schema).encode("utf-8")
            else:
                raw = _read_bytes("register_model: schema", schema)
            files.append(("schema", "schema.json", raw))
        data, content_type = _multipart(fields, files)
        return self._json("POST", "/v1/models/%s/versions" % _quote(name), data=data, content_type=content_type)

    def promote(self, name: str, version: int, alias: str = DEFAULT_ALIAS, by: Optional[str] = None) -> Dict[str, Any]:
        """Points a model's alias (default production) at a version, as
        `slipway models promote`; the move is recorded. Returns the alias:
        {"model", "alias", "version", "updated_by", "updated_at"}."""
        body = {"version": int(version)}  # type: Dict[str, Any]
        body.update(self._by(by))
        return self._json("POST", "/v1/models/%s/aliases/%s" % (_quote(name), _quote(alias)), body)

    def rollback(self, name: str, alias: str = DEFAULT_ALIAS, by: Optional[str] = None) -> Dict[str, Any]:
        """Moves a model's alias back to the version it pointed at before its
        last move, as `slipway models rollback`. Returns the alias."""
        return self._json("POST", "/v1/models/%s/aliases/%s/rollback" % (_quote(name), _quote(alias)), self._by(by))

    def loop_status(self, name: str) -> Dict[str, Any]:
        """Where each step of a model's feedback loop stands, as `slipway
        loop status` (GET /v1/models/{model}/loop): its retrain and promote
        policy, "steps" (feedback, schedule, training, validation,
        experiment, serving; each with a summary and the job to look at),
        the last trainings, its experiments and its aliases' moves."""
        return self._json("GET", "/v1/models/%s/loop" % _quote(name))

    # --- freshness ----------------------------------------------------------

    def freshness(self, features: Optional[Sequence[str]] = None, now: Optional[str] = None,
                  grace: Optional[str] = None) -> Dict[str, Any]:
        """How fresh each feature's online values are, as `slipway
        freshness` (GET /v1/freshness): {"at", "features", "fresh", "stale",
        "never_materialized"}, per feature its "status" (fresh, stale,
        never_materialized) with a "reason", "newest_event_time" and
        "newest_age_seconds", "max_age_seconds", "last_materialized_at" and
        "last_materialization_job", and its "schedule" with "next_due" and
        "overdue". Stale: the newest value is older than max_age, or a
        scheduled run is overdue (past its firing plus grace). features
        (name or name:variant) limits it; now (RFC 3339) measures ages at
        another time; grace ("10m", "2h", "1d") replaces the default."""
        query = [("feature", f) for f in (features or [])]
        if now is not None:
            query.append(("now", now))
        if grace is not None:
            query.append(("grace", grace))
        path = "/v1/freshness"
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return self._json("GET", path)

    # --- experiments --------------------------------------------------------

    def experiment_report(self, name: str) -> Dict[str, Any]:
        """An experiment's state and its arms compared, as `slipway
        experiments report` (GET /v1/experiments/{name}/report): "state"
        (running, concluded, stopped, ended), "arms" with the version each
        resolves to, and "report" with per arm the exposures whose window
        has ended, the metric and its interval, lift, p-value, the
        sample-ratio check and the verdict."""
        return self._json("GET", "/v1/experiments/%s/report" % _quote(name))

    def conclude_experiment(self, name: str, winner: str, by: Optional[str] = None) -> Dict[str, Any]:
        """Ends an experiment with a winning arm, as `slipway experiments
        conclude`: the endpoint's alias moves to the winner's version (a
        recorded move) unless it points there already. Returns {"experiment",
        "winner", "alias", "moved", "from"}."""
        body = {"winner": winner}  # type: Dict[str, Any]
        body.update(self._by(by))
        return self._json("POST", "/v1/experiments/%s/conclude" % _quote(name), body)

    def stop_experiment(self, name: str, reason: Optional[str] = None, by: Optional[str] = None) -> Dict[str, Any]:
        """Ends an experiment without a change, as `slipway experiments
        stop`. Returns the experiment as registered, deprecated."""
        body = {"reason": reason} if reason else {}  # type: Dict[str, Any]
        body.update(self._by(by))
        return self._json("POST", "/v1/experiments/%s/stop" % _quote(name), body)


    # --- monitors -----------------------------------------------------------

    def run_monitor(self, name: str, by: Optional[str] = None, wait: Optional[float] = None) -> Dict[str, Any]:
        """Runs a monitor's checks now, as `slipway monitor run` (POST
        /v1/monitors/{name}/run): the results are recorded and alerts posted
        as on its schedule. Waits for the job (wait bounds it: seconds, None
        for no limit) and returns its result: {"monitor", "run", "pass",
        "warn", "fail", "alerts", "alerts_failed"}."""
        queued = self._json("POST", "/v1/monitors/%s/run" % _quote(name), self._by(by))["jobs"]
        return self.wait(queued, wait)[-1].get("result", {})

    def monitor_report(self, name: str, runs: Optional[int] = None) -> Dict[str, Any]:
        """What a monitor's checks found, as `slipway monitor report` (GET
        /v1/monitors/{name}/report): "latest", per check and subject its
        newest result {"check", "subject", "state" (pass, warn, fail),
        "method", "value", "threshold", "message", "since", "run", "at"},
        and "runs", newest first (runs of them, default 20), each with its
        "pass", "warn" and "fail" counts, "failing" subjects and "job"."""
        path = "/v1/monitors/%s/report" % _quote(name)
        if runs is not None:
            path += "?" + urllib.parse.urlencode({"runs": int(runs)})
        return self._json("GET", path)

def _request_value(v: Any) -> Any:
    """A request-time feature value as JSON takes it: a float NaN (pandas'
    missing) is null, a missing value."""
    if isinstance(v, float) and v != v:
        return None
    return v


def _json_default(v: Any) -> Any:
    """JSON for the values a notebook holds besides Python's own: numpy
    scalars (as their Python value) and timezone-aware datetimes (RFC 3339)."""
    if hasattr(v, "isoformat") and hasattr(v, "tzinfo"):
        if v.tzinfo is None:
            raise ValueError("datetime %s has no time zone: give an aware one (datetime.timezone.utc)" % v)
        return v.isoformat()
    if hasattr(v, "item"):
        item = v.item()
        if isinstance(item, float) and item != item:
            return None
        return item
    raise TypeError("%s is not a value Slipway takes (numbers, strings, booleans, None, datetimes)" % type(v).__name__)


def _pandas_major(pd) -> int:
    try:
        return int(pd.__version__.split(".")[0])
    except ValueError:
        return 0


def _multipart(fields: Iterable[Tuple[str, str]], files: Iterable[Tuple[str, str, bytes]]) -> Tuple[bytes, str]:
    """A multipart/form-data body (RFC 7578) and its Content-Type."""
    boundary = "slipway-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name)).encode("utf-8"))
        out.write(str(value).encode("utf-8"))
        out.write(b"\r\n")
    for name, filename, content in files:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode("utf-8"))
        out.write(content)
        out.write(b"\r\n")
    out.write(("--%s--\r\n" % boundary).encode("utf-8"))
    return out.getvalue(), "multipart/form-data; boundary=" + boundary
