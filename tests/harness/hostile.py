#!/usr/bin/env python3
"""hostile.py: an HTTP server that answers every request badly, standing in for an AWS endpoint
(AWS_ENDPOINT_URL) or a Kubernetes API server (a kubeconfig's server) in
tests/reliability/hostile.sh. 127.0.0.1 only, plain HTTP, standard library only.

    hostile.py --port-file FILE [--mode MODE]

The mode is per run (--mode) and can be changed with POST /__mode (body: the mode); GET /__stats
gives {"requests": N, "by_path": {...}} of the requests answered since the last mode change.
GET /version always answers as a Kubernetes API server does, so a kubernetes_connection's
reachability check passes and the hostile reply reaches the resource's own call.

Modes (what every other request gets):
  huge        200, Content-Length 200 MB, 200 MB of filler sent as fast as the client reads
  endless     200, chunked, filler without end
  truncated   200, Content-Length 4096, 100 bytes, then the connection is closed
  garbage     200, a body that is neither XML nor JSON, with invalid UTF-8
  wrongshape  200, well-formed XML (an AWS Query call) or JSON (others) of the wrong shape
  badutf8     200, a reply of the right shape whose strings hold invalid UTF-8
  slow        200, Content-Length 100000, then one byte a second, never finishing
  stall       200, Content-Length 1000, then nothing until the client gives up
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("huge", "endless", "truncated", "garbage", "wrongshape", "badutf8", "slow", "stall")
STATE = {"mode": "garbage", "requests": 0, "by_path": {}}
LOCK = threading.Lock()
FILLER = b"<item>" + b"x" * 65530 + b"</i>"

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0-hostile", "platform": "linux/amd64"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # one line per request on stderr is noise here
        pass

    def body_in(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def head(self, status, length=None, ctype="application/json", chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def whole(self, status, body, ctype="application/json"):
        self.head(status, len(body), ctype)
        self.wfile.write(body)
        self.wfile.flush()

    def control(self, body):
        if self.path == "/__mode":
            mode = body.decode().strip()
            if mode not in MODES:
                return self.whole(400, b"unknown mode\n", "text/plain")
            with LOCK:
                STATE.update(mode=mode, requests=0, by_path={})
            return self.whole(200, b"ok\n", "text/plain")
        with LOCK:
            out = {"mode": STATE["mode"], "requests": STATE["requests"], "by_path": STATE["by_path"]}
        return self.whole(200, json.dumps(out).encode())

    def handle_any(self):
        body = self.body_in()
        if self.path.startswith("/__"):
            return self.control(body)
        if self.path.split("?")[0] == "/version":
            return self.whole(200, json.dumps(VERSION).encode())
        with LOCK:
            mode = STATE["mode"]
            STATE["requests"] += 1
            key = "%s %s" % (self.command, self.path.split("?")[0])
            STATE["by_path"][key] = STATE["by_path"].get(key, 0) + 1
        query = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
        try:
            getattr(self, "mode_" + mode)(query)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    def mode_huge(self, query):
        total = 200 * 1000 * 1000
        self.head(200, total, "text/xml" if query else "application/json")
        sent = 0
        while sent < total:
            chunk = FILLER[: min(len(FILLER), total - sent)]
            self.wfile.write(chunk)
            sent += len(chunk)

    def mode_endless(self, query):
        self.head(200, ctype="text/xml" if query else "application/json", chunked=True)
        piece = b"%x\r\n%s\r\n" % (len(FILLER), FILLER)
        while True:
            self.wfile.write(piece)

    def mode_truncated(self, query):
        self.head(200, 4096, "text/xml" if query else "application/json")
        self.wfile.write((b"<CreateVpcResponse><vpc><vpcId>vpc-" if query else b'{"metadata": {"name": "')
                         + b"0" * 60)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def mode_garbage(self, query):
        self.whole(200, b"\xff\xfe\x00garbage {<[ not a reply \xc3\x28 \xed\xa0\x80\n", "text/plain")

    def mode_wrongshape(self, query):
        if query:
            self.whole(200, b'<?xml version="1.0"?><Unexpected><vpc><vpcId><x/></vpcId></vpc>'
                            b'<vpcSet>7</vpcSet></Unexpected>', "text/xml")
        else:
            self.whole(200, b'{"kind": 7, "apiVersion": [], "metadata": "none", "items": {"a": null}, '
                            b'"status": [1, 2], "cluster": 3}')

    def mode_badutf8(self, query):
        if query:
            self.whole(200, b'<?xml version="1.0" encoding="UTF-8"?><CreateVpcResponse><vpc><vpcId>vpc-\xff\xfe'
                            b'</vpcId><state>pending</state></vpc></CreateVpcResponse>', "text/xml")
        else:
            self.whole(200, b'{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "apps\xff",'
                            b' "uid": "\xc3\x28", "annotations": {"mesh/address": "\xed\xa0\x80"}}}')

    def mode_slow(self, query):
        self.head(200, 100000, "text/xml" if query else "application/json")
        while True:
            self.wfile.write(b"<" if query else b"{")
            self.wfile.flush()
            time.sleep(1)

    def mode_stall(self, query):
        self.head(200, 1000, "text/xml" if query else "application/json")
        self.wfile.flush()
        self.connection.settimeout(600)
        while self.connection.recv(1):  # until the client closes
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="garbage", choices=MODES)
    a = ap.parse_args()
    STATE["mode"] = a.mode
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
