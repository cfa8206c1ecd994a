#!/usr/bin/env python3
"""metadata.py: stand-ins for the EC2 instance metadata service (IMDSv2) and the container
credentials endpoint, on one loopback port (Python standard library only).

  PUT /latest/api/token                         (X-aws-ec2-metadata-token-ttl-seconds) -> token
  GET /latest/meta-data/iam/security-credentials/        (X-aws-ec2-metadata-token) -> role name
  GET /latest/meta-data/iam/security-credentials/ROLE    -> {"Code": "Success", ...credentials}
  GET /container/creds                          (Authorization: TOKEN)            -> credentials
  GET /__stats                                  -> {"token": N, "role": N, "creds": N, "container": N}
A GET without the session token answers 401, as IMDSv2 with v1 disabled does.

Usage: metadata.py [--port 0] [--port-file FILE] [--auth-token TOKEN] [--expires-in SECONDS]
"""
import argparse
import datetime
import http.server
import json
import os
import socketserver

ROLE = "mesh-test-role"
TOKEN = "imds-session-token-0123456789"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK of the headers, on every reply of a kept-alive connection.
    disable_nagle_algorithm = True
    auth = "container-auth-token"
    expires_in = 3600
    stats = {"token": 0, "role": 0, "creds": 0, "container": 0}

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _creds(self, prefix, token_key="Token"):
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.expires_in)
        return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "AKIA" + prefix,
                           "SecretAccessKey": prefix.lower() + "-secret", token_key: prefix.lower() + "-token",
                           "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            Handler.stats["token"] += 1
            return self._reply(200, TOKEN)
        return self._reply(400, "bad token request")

    def do_GET(self):
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == "/__stats":
            return self._reply(200, json.dumps(Handler.stats), "application/json")
        if self.path == "/container/creds":
            if self.headers.get("Authorization") != Handler.auth:
                return self._reply(403, "bad authorization")
            Handler.stats["container"] += 1
            return self._reply(200, self._creds("CONTAINER"), "application/json")
        if not self.path.startswith(base):
            return self._reply(404, "not found")
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self._reply(401, "IMDSv2 session token required")
        if self.path == base:
            Handler.stats["role"] += 1
            return self._reply(200, ROLE + "\n")
        if self.path == base + ROLE:
            Handler.stats["creds"] += 1
            return self._reply(200, self._creds("IMDS"), "application/json")
        return self._reply(404, "no such role")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--auth-token", default="container-auth-token")
    ap.add_argument("--expires-in", type=int, default=3600)
    a = ap.parse_args()
    Handler.auth = a.auth_token
    Handler.expires_in = a.expires_in
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
