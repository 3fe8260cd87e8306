"""Renders an application whose strings hold every character a YAML writer must escape,
reads Kiln's YAML output with PyYAML (safe_load_all: YAML 1.1, like the go-yaml behind many
Kubernetes tools) and checks it is the same as Kiln's JSON output. Controls first prove
that PyYAML refuses or alters such characters written raw, so the check can fail.

Usage: python yaml_roundtrip.py KILN APP_FILE
"""

import json
import subprocess
import sys

import yaml

# The characters the application's strings must hold, or the check proves nothing.
SPECIAL = ["\x00", "\x1b", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029", "\ufeff",
           "\ufffe", "\uffff"]


def controls():
    """PyYAML refuses DEL written raw, and reads NEL, U+2028 and U+2029 written raw as
    line breaks (dropping the spaces around them)."""
    try:
        yaml.safe_load('"a\x7fb"')
    except yaml.YAMLError:
        pass
    else:
        sys.exit("PyYAML accepted a raw DEL: the check would prove nothing")
    for raw in ["\x85", "\u2028", "\u2029"]:
        if yaml.safe_load(f'"a {raw} b"') == f"a {raw} b":
            sys.exit(f"PyYAML read a raw {raw!r} back: the check would prove nothing")


def strings(value):
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)


def render(kiln, app, output):
    result = subprocess.run([kiln, "render", app, "-o", output], capture_output=True,
                            check=False)
    if result.returncode != 0:
        sys.exit(f"kiln render -o {output} failed:\n{result.stderr.decode()}")
    return result.stdout.decode("utf-8")


def main():
    kiln, app = sys.argv[1], sys.argv[2]
    controls()
    # Lines split on "\n" only: splitlines() also splits on NEL and U+2028, which the
    # strings hold.
    from_json = [json.loads(line) for line in render(kiln, app, "json").split("\n") if line]
    text = "".join(strings(from_json))
    missing = [c for c in SPECIAL if c not in text]
    if missing:
        sys.exit(f"the rendered objects lack {missing!r}: the check would prove nothing")
    try:
        from_yaml = [doc for doc in yaml.safe_load_all(render(kiln, app, "yaml"))
                     if doc is not None]
    except yaml.YAMLError as error:
        sys.exit(f"PyYAML refuses Kiln's YAML output: {error}")
    if from_yaml != from_json:
        for i, (a, b) in enumerate(zip(from_yaml, from_json)):
            if a != b:
                print(f"object {i}: YAML reads\n{a!r}\nJSON reads\n{b!r}", file=sys.stderr)
        sys.exit(f"PyYAML reads Kiln's YAML ({len(from_yaml)} objects) differently from "
                 f"its JSON ({len(from_json)} objects)")
    print(f"PyYAML reads all {len(from_yaml)} objects as the JSON output has them")


main()
