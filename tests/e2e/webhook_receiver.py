#!/usr/bin/env python3
"""Receives Alertmanager webhook notifications on 127.0.0.1 and appends each one, as a line of
JSON with the receiving path, to a file, for end-to-end tests.

Usage: webhook_receiver.py --port N --out FILE
"""
import argparse
import http.server
import json
import threading

lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"unparsed": body.decode(errors="replace")}
        with lock, open(self.server.out, "a") as out:
            out.write(json.dumps({"path": self.path, "payload": payload}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.out = args.out
    server.serve_forever()


if __name__ == "__main__":
    main()
