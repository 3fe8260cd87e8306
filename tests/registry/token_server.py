#!/usr/bin/env python3
"""A tiny Docker Registry v2 token server, for Kiln's tests against a registry with `auth.token`.

    token_server.py --port P --key KEY.pem --cert CERT.pem --issuer ISS --service SVC \
                    --user U --password PW [--anonymous-pull] [--expires SECONDS]

It implements the token protocol docker-registry 2.8 expects
(`/usr/share/doc/docker-registry/spec/auth/token.md.gz`, `jwt.md.gz`, `oauth.md.gz`):

- `GET /token?service=SVC&scope=repository:NAME:pull,push[&scope=...]` with HTTP Basic
  credentials answers `{"token": JWT, "access_token": JWT, "expires_in", "issued_at"}`.
  The right user gets every action asked for among pull, push, delete and `*`;
  `registry:catalog:*` is granted too. A wrong password gets 401.
- Without credentials: 401, unless `--anonymous-pull`, which grants `pull` only.
- A missing or different `service` gets 400: a client must echo the registry's challenge.
- `POST /token` (OAuth2 `grant_type=password`, form-encoded username, password, service,
  scope) answers the same, for clients that use that flow.

The JWT is RS256, signed with KEY, and carries CERT (base64 DER) in its `x5c` header. The
registry's `auth.token.rootcertbundle` is CERT itself: a self-signed certificate verifies as
its own chain. Claims: iss, sub, aud (= SVC, a string: 2.8 reads `aud` as one string),
exp, nbf, iat, jti, access.

Each request is logged on stderr as one line (method, user, scopes asked, actions granted), so
a test can show what its client asked for. Prints `listening on 127.0.0.1:PORT` on stderr when
ready. Standard library plus PyJWT and cryptography.
"""

import argparse
import base64
import binascii
import json
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

GRANTABLE = {"pull", "push", "delete", "*"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True, help="RSA private key (PEM) that signs tokens")
    parser.add_argument("--cert", required=True, help="its certificate (PEM), sent as x5c")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--anonymous-pull", action="store_true", help="anonymous gets pull")
    parser.add_argument("--expires", type=int, default=300, help="token lifetime, seconds")
    return parser.parse_args()


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = f.read()
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(Encoding.DER)).decode()]
        self.args = args
        super().__init__(("127.0.0.1", args.port), Handler)

    def grant(self, user, scopes):
        """The `access` claim for `user` (None: anonymous) asking for `scopes`."""
        access = []
        for scope in scopes:
            # TYPE:NAME:ACTIONS; NAME has no colon for repositories, but split from both ends.
            kind, sep, rest = scope.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not (sep and sep2 and name):
                continue
            asked = set(actions.split(","))
            if kind == "repository":
                allowed = GRANTABLE if user else ({"pull"} if self.args.anonymous_pull else set())
            elif kind == "registry" and name == "catalog" and user:
                allowed = {"*"}
            else:
                allowed = set()
            granted = sorted(asked & allowed)
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        return access

    def token(self, user, access):
        now = int(time.time())
        claims = {
            "iss": self.args.issuer,
            "sub": user or "",
            "aud": self.args.service,
            "exp": now + self.args.expires,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": self.x5c})
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.args.expires,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }


class Handler(BaseHTTPRequestHandler):
    server: TokenServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # one line per request is written by `answer`

    def answer(self, status, body, user=None, scopes=(), access=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="kiln-token-server"')
        self.end_headers()
        self.wfile.write(data)
        granted = ";".join(f"{a['type']}:{a['name']}:{','.join(a['actions'])}" for a in access)
        print(
            f"token_server: {self.command} {status} user={user or '-'} "
            f"scopes={' '.join(scopes) or '-'} granted={granted or '-'}",
            file=sys.stderr,
            flush=True,
        )

    def basic_credentials(self):
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return user, password

    def issue(self, service, scopes, credentials):
        args = self.server.args
        if service != args.service:
            return self.answer(400, {"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]}, scopes=scopes)
        if credentials is None:
            if not args.anonymous_pull:
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]}, scopes=scopes)
            user = None
        elif credentials == (args.user, args.password):
            user = args.user
        else:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong username or password"}]}, credentials[0], scopes)
        access = self.server.grant(user, scopes)
        self.answer(200, self.server.token(user, access), user, scopes, access)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        self.issue(query.get("service", [None])[0], scopes, self.basic_credentials())

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if url.path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        if form.get("grant_type", [None])[0] != "password":
            return self.answer(400, {"error": "unsupported_grant_type"})
        scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
        credentials = (form.get("username", [""])[0], form.get("password", [""])[0])
        self.issue(form.get("service", [None])[0], scopes, credentials)


def main():
    args = parse_args()
    server = TokenServer(args)
    print(f"token_server: listening on 127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
