#!/usr/bin/env bash
# Renders every built-in definition (every-builtin.yaml) and validates each object against
# the Kubernetes OpenAPI schemas of Kiln's default version with kubernetes-validate --strict
# (unknown fields are errors). A negative control first proves the validator rejects a bad
# object. Then PyYAML reads Kiln's YAML output of special-characters.yaml back as its JSON
# output (yaml_roundtrip.py). Usage: tests/k8s-validate/run.sh KILN VENV_DIR
set -euo pipefail
kiln=$1
validate="$2/bin/kubernetes-validate"
version=1.31.0
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":"three","selector":{},"template":{}}}\n' > "$out/control.json"
if "$validate" --strict -k "$version" --quiet "$out/control.json" > /dev/null 2>&1; then
  echo "kubernetes-validate accepted an invalid Deployment: the check would prove nothing" >&2
  exit 1
fi
rm "$out/control.json"

"$kiln" render "$here/every-builtin.yaml" -o json > "$out/all.jsonl"
i=0
while IFS= read -r line; do
  printf '%s\n' "$line" > "$out/object-$(printf %03d "$i").json"
  i=$((i + 1))
done < "$out/all.jsonl"
echo "validating $i objects against Kubernetes $version (strict)"
"$validate" --strict -k "$version" --quiet "$out"/object-*.json
echo "all $i objects are valid Kubernetes $version"

# Kiln's YAML output, read by PyYAML (YAML 1.1, like go-yaml), is its JSON output, for
# strings holding every character a YAML writer must escape.
"$2/bin/python" "$here/yaml_roundtrip.py" "$kiln" "$here/special-characters.yaml"
