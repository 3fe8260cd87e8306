#!/usr/bin/env python3
"""Another OCI client for Kiln's registry tests, over the ORAS Python SDK (PyPI `oras`).

The end-to-end tests push with this and pull with Kiln (and the reverse), so a Wasm OCI
artifact that only Kiln can read is caught. Commands:

    push REF WASM_FILE [--annotation K=V]... [--export I]... [--import I]... [--target W]
                       [--config-media-type T] [--layer-media-type T]
    manifest REF        prints the manifest exactly as the registry returns it
    config REF          prints the config blob exactly as stored

Every command takes `--username U --password P` (basic auth, or the credentials for the
token server when the registry answers `Bearer`) and `--ca-file PEM` (HTTPS, verified with
that CA; without it, plain HTTP). REF is `HOST:PORT/REPO:TAG` or `HOST:PORT/REPO@DIGEST`; an
`oci://` prefix is accepted.

`push` writes the CNCF TAG-Runtime Wasm config itself:
`{"created", "architecture": "wasm", "os": "wasip2", "layerDigests", "component": {...}}`,
uploads it as `application/vnd.wasm.config.v0+json`, the module as the one
`application/wasm` layer, and prints the manifest digest (`sha256:...`).

Exits 1 with one line on stderr on any failure.
"""

import argparse
import datetime
import hashlib
import json
import logging
import os
import sys
import tempfile
import types

import requests

import oras.auth.utils
import oras.client
import oras.decorator

CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json"
LAYER_MEDIA_TYPE = "application/wasm"
MANIFEST_MEDIA_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]

# oras retries every failed request 5 times, sleeping 3, 5, 11, 29 and 83 s: a wrong
# password or a stopped registry would take two minutes to fail. The retries stay, the
# sleeps go (the decorator looks `time` up in its module at call time).
oras.decorator.time = types.SimpleNamespace(sleep=lambda _seconds: None)
# ORAS logs each retry and auth step on stderr; failures are reported here, in one line.
logging.getLogger("oras.logger").setLevel(logging.CRITICAL + 1)


class Failure(Exception):
    """A failure to report in one line."""


def split_ref(ref):
    """`HOST/REPO:TAG` or `HOST/REPO@DIGEST` -> (host, repo, tag or digest)."""
    ref = ref.removeprefix("oci://")
    host, slash, rest = ref.partition("/")
    if not slash or not rest:
        raise Failure(f"not a reference HOST/REPO:TAG: {ref}")
    if "@" in rest:
        repo, _, reference = rest.partition("@")
    else:
        repo, colon, reference = rest.rpartition(":")
        if not colon:
            repo, reference = rest, "latest"
    return host, repo, reference


def client_for(host, repo, actions, args):
    """An ORAS client for `host` that uses only the credentials given on the command line.

    ORAS has two auth backends and each fails on the other's challenge: "token" sends a
    `Basic realm="x"` challenge's realm to be fetched as a token URL, and "basic" never
    fetches a token. So the registry's own challenge (`GET /v2/`) picks the backend.

    With a token server, the token for `repository:REPO:ACTIONS` is fetched here, up front:
    ORAS (0.2.43) keeps the first token it gets (the `pull` one of its first HEAD) and
    answers every later 401 with it again, so its push fails with `UNAUTHORIZED`.
    """
    scheme = "https" if args.ca_file else "http"
    verify = args.ca_file or True
    try:
        probe = requests.get(f"{scheme}://{host}/v2/", timeout=10, verify=verify)
    except requests.RequestException as e:
        raise Failure(f"cannot reach {scheme}://{host}/v2/: {e}") from None
    challenge = probe.headers.get("WWW-Authenticate", "")
    backend = "basic" if challenge.lower().startswith("basic") else "token"
    if challenge and not (args.username and args.password):
        raise Failure(f"{host} asks for credentials ({challenge}): give --username and --password")
    client = oras.client.OrasClient(
        hostname=host,
        insecure=not args.ca_file,
        tls_verify=verify,
        auth_backend=backend,
    )
    # Never read ~/.docker/config.json: a test's credentials are the ones it passes.
    client.auth._auth_config = {"auths": {}, "credsStore": None, "credHelpers": {}}
    if args.username and args.password:
        client.auth.set_basic_auth(args.username, args.password)
    if backend == "token" and challenge:
        wanted = oras.auth.utils.parse_auth_header(challenge)
        wanted.scope = f"repository:{repo}:{actions}"
        token = client.auth.request_token(wanted)
        if not token:
            raise Failure(f"the token server {wanted.realm} refused {wanted.scope} to {args.username}")
        client.auth.token = token
    return client


def checked(response, what):
    if response.status_code // 100 != 2:
        raise Failure(f"{what}: HTTP {response.status_code}: {response.text.strip()[:300]}")
    return response


def get_manifest(client, host, repo, reference):
    url = f"{client.prefix}://{host}/v2/{repo}/manifests/{reference}"
    response = client.do_request(url, "GET", headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
    return checked(response, f"GET {url}")


def push(args):
    host, repo, reference = split_ref(args.ref)
    client = client_for(host, repo, "pull,push", args)
    with open(args.wasm, "rb") as f:
        layer_digest = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    component = {"exports": args.exports, "imports": args.imports}
    if args.target:
        component["target"] = args.target
    config = {
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": component,
    }
    annotations = {}
    for pair in args.annotations:
        key, eq, value = pair.partition("=")
        if not eq:
            raise Failure(f"--annotation wants KEY=VALUE, not {pair}")
        annotations[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        config_file = os.path.join(tmp, "config.json")
        with open(config_file, "w") as f:
            json.dump(config, f, separators=(",", ":"))
        # `path:media-type`: ORAS splits at the last colon when the whole is not a file.
        response = client.push(
            target=f"{host}/{repo}:{reference}" if ":" not in reference else f"{host}/{repo}@{reference}",
            files=[f"{os.path.abspath(args.wasm)}:{args.layer_media_type}"],
            manifest_config=f"{config_file}:{args.config_media_type}",
            manifest_annotations=annotations or None,
            disable_path_validation=True,
            quiet=True,
        )
    checked(response, "PUT manifest")
    digest = response.headers.get("Docker-Content-Digest")
    if not digest:
        raise Failure("the registry returned no Docker-Content-Digest for the manifest")
    print(digest)


def manifest(args):
    host, repo, reference = split_ref(args.ref)
    client = client_for(host, repo, "pull", args)
    sys.stdout.buffer.write(get_manifest(client, host, repo, reference).content)


def config(args):
    host, repo, reference = split_ref(args.ref)
    client = client_for(host, repo, "pull", args)
    descriptor = json.loads(get_manifest(client, host, repo, reference).content)["config"]
    url = f"{client.prefix}://{host}/v2/{repo}/blobs/{descriptor['digest']}"
    sys.stdout.buffer.write(checked(client.do_request(url, "GET"), f"GET {url}").content)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--username")
    common.add_argument("--password")
    common.add_argument("--ca-file", help="use HTTPS, trusting this CA (PEM)")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("push", parents=[common])
    p.add_argument("ref")
    p.add_argument("wasm")
    p.add_argument("--annotation", dest="annotations", action="append", default=[])
    p.add_argument("--export", dest="exports", action="append", default=[])
    p.add_argument("--import", dest="imports", action="append", default=[])
    p.add_argument("--target")
    p.add_argument("--config-media-type", default=CONFIG_MEDIA_TYPE)
    p.add_argument("--layer-media-type", default=LAYER_MEDIA_TYPE)
    p.set_defaults(run=push)

    p = commands.add_parser("manifest", parents=[common])
    p.add_argument("ref")
    p.set_defaults(run=manifest)

    p = commands.add_parser("config", parents=[common])
    p.add_argument("ref")
    p.set_defaults(run=config)

    args = parser.parse_args()
    try:
        args.run(args)
    except Exception as e:  # one line, whatever failed: the tests show stderr
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"oras_client.py {args.command}: {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
