#!/usr/bin/env python3
"""A stand-in model-serving endpoint for tests and the demo, on 127.0.0.1 only.

Routes:
  /health        200, JSON with status "ok", ready true, model name, version, stage and
                 numeric metrics
  /slow          answers after --slow-seconds (default 5)
  /hang          sends the status line and headers, then never the body
  /error         500
  /redirect      302 to /health
  /malformed     200 with a body that is not JSON
  /missing       200 JSON without the model fields, accuracy as a string
  /huge          200 with a 5 MiB body
  /huge-declared 200 that declares a 1 GiB Content-Length, then trickles bytes for
                 --slow-seconds
  /nonfinite     200 JSON whose numbers include NaN, Infinity, -Infinity and 1e999 (what
                 Python's json and some servers write), next to finite ones and a string
  /count/<path>  how many requests <path> has received (plain text)
  POST /predict  a prediction: {"user": <user_id of the JSON request>, "predictions": [...],
                 "content_type": <the request's Content-Type>}; 400 if the body is not JSON
  POST /api/2.0/mlflow/registered-models/get-latest-versions
                 an MLflow registry: model "reco-ranker" is at version 7 in Production and
                 8 in Staging; any other model does not exist
  GET /api/2.0/mlflow/registered-models/get?name=M
                 the registered model with its aliases (MLflow 2.9+): reco-ranker's champion
                 is 7, challenger 8, baseline 6; "reco-retriever" has no stages, only its
                 champion 3
  GET /api/2.0/mlflow/model-versions/get?name=M&version=V
                 one model version, with its creation_timestamp in milliseconds
Usage: fake_model_server.py --port N [--cert F --key F [--client-ca F]] [--version V]
"""
import argparse
import collections
import http.server
import json
import ssl
import threading
import time
import urllib.parse

counts = collections.Counter()
lock = threading.Lock()


# The MLflow registry: per model, creation time (ms) of each version, stages and aliases.
REGISTRY = {
    "reco-ranker": {
        "created_ms": {"6": 1789000000000, "7": 1789500000123, "8": 1790000000000},
        "stages": {"Production": "7", "Staging": "8"},
        "aliases": {"champion": "7", "challenger": "8", "baseline": "6"},
    },
    "reco-retriever": {
        "created_ms": {"3": 1788000000500},
        "stages": {},
        "aliases": {"champion": "3"},
    },
}


def model_version(name, version):
    model = REGISTRY[name]
    stage = next((s for s, v in model["stages"].items() if v == version), "None")
    return {"name": name, "version": version, "creation_timestamp": model["created_ms"][version],
            "current_stage": stage, "status": "READY",
            "aliases": [a for a, v in model["aliases"].items() if v == version]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def send(self, status, body, content_type="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def trickle(self, declared_length):
        """Declares a body of declared_length bytes and sends one byte every 50 ms."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(declared_length))
        self.end_headers()
        deadline = time.monotonic() + self.server.slow_seconds
        try:
            while time.monotonic() < deadline:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:  # the prober hung up, as it should
            pass

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        if self.path == "/api/2.0/mlflow/registered-models/get-latest-versions":
            return self.latest_versions()
        if self.path == "/predict":
            return self.predict()
        self.do_GET()

    def predict(self):
        """A prediction for the JSON request's user_id; 400 when the body is not JSON."""
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            return self.send(400, '{"error": "body is not JSON"}')
        return self.send(200, json.dumps({
            "user": request.get("user_id"),
            "predictions": [{"item_id": "sku-1", "score": 0.87}],
            "content_type": self.headers.get("Content-Type", ""),
        }))

    def latest_versions(self):
        with lock:
            counts[self.path] += 1
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        name = request.get("name")
        if name not in REGISTRY:
            return self.not_registered(name)
        model_stages = REGISTRY[name]["stages"]
        stages = request.get("stages") or list(model_stages)
        versions = [model_version(name, model_stages[stage])
                    for stage in stages if stage in model_stages]
        return self.send(200, json.dumps({"model_versions": versions}))

    def not_registered(self, name):
        return self.send(404, json.dumps({
            "error_code": "RESOURCE_DOES_NOT_EXIST",
            "message": "Registered Model with name=%s not found" % name}))

    def registry_get(self, path, query):
        """GET registered-models/get and model-versions/get; True once answered."""
        name = query.get("name", [""])[0]
        if path == "/api/2.0/mlflow/registered-models/get":
            if name not in REGISTRY:
                self.not_registered(name)
                return True
            model = REGISTRY[name]
            self.send(200, json.dumps({"registered_model": {
                "name": name,
                "latest_versions": [model_version(name, v) for v in model["stages"].values()],
                "aliases": [{"alias": a, "version": v} for a, v in model["aliases"].items()],
            }}))
            return True
        if path == "/api/2.0/mlflow/model-versions/get":
            version = query.get("version", [""])[0]
            if name not in REGISTRY or version not in REGISTRY[name]["created_ms"]:
                self.send(404, json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST"}))
                return True
            self.send(200, json.dumps({"model_version": model_version(name, version)}))
            return True
        return False

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/count/"):
            with lock:
                value = counts["/" + path[len("/count/"):]]
            return self.send(200, str(value), "text/plain")
        with lock:
            counts[path] += 1
        if path.startswith("/api/2.0/mlflow/"):
            query = urllib.parse.parse_qs(self.path.partition("?")[2])
            if self.registry_get(path, query):
                return
        if path == "/health":
            return self.send(200, json.dumps({
                "status": "ok",
                "model": {"name": "reco-ranker", "version": self.server.model_version,
                          "stage": "Production"},
                "metrics": {"accuracy": 0.912, "drift_score": 0.07,
                            "trained_at": 1790000000},
                "auth": self.headers.get("Authorization", ""),
                "ready": True,
            }))
        if path == "/slow":
            time.sleep(self.server.slow_seconds)
            return self.send(200, "{}")
        if path == "/hang":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(self.server.slow_seconds)
            return
        if path == "/error":
            return self.send(500, '{"error": "boom"}')
        if path == "/redirect":
            return self.send(302, "", "text/plain", [("Location", "/health")])
        if path == "/malformed":
            return self.send(200, '{"model": {"version": ')
        if path == "/missing":
            return self.send(200, json.dumps({"status": "ok", "metrics": {"accuracy": "high"}}))
        if path == "/huge":
            return self.send(200, json.dumps({"padding": "x" * (5 << 20)}))
        if path == "/huge-declared":
            return self.trickle(1 << 30)
        if path == "/nonfinite":
            # Written by hand: json.dumps writes NaN and Infinity but never 1e999.
            return self.send(200, '{"model": {"version": "v1.2.0"}, "metrics": {'
                             '"accuracy": NaN, "drift_score": 0.07, "loss": Infinity, '
                             '"gain": -Infinity, "huge": 1e999, "label": "NaN", '
                             '"note": "not NaN, a string: [NaN]"}}')
        return self.send(404, '{"error": "not found"}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--client-ca")
    parser.add_argument("--slow-seconds", type=float, default=5)
    parser.add_argument("--version", default="v1.2.0")
    args = parser.parse_args()
    http.server.ThreadingHTTPServer.request_queue_size = 1024  # many probes start at once
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.slow_seconds = args.slow_seconds
    server.model_version = args.version
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.load_verify_locations(args.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
