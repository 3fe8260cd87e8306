#!/usr/bin/env bash
# Builds examples/argocd as the README says (a kustomize Component on an Argo CD install,
# with an `images:` rename) on a pinned excerpt of Argo CD's install manifest, then checks
# the result with check_install.py and, when PYTHON's directory has kubernetes-validate
# (the CI venv), validates every object strictly against Kubernetes 1.31. Needs `kubectl kustomize` (kubectl >= 1.21) or
# `kustomize build` (v3.7+, for Components). Usage: tests/argocd/check-install.sh PYTHON
set -euo pipefail
python=${1:-python3}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/argocd-install.yaml" "$work/"
# kustomize takes a Component's path relative to the kustomization only.
component=$("$python" -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
  "$repo/examples/argocd" "$work")
cat > "$work/kustomization.yaml" <<KUSTOMIZATION
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources:
  - argocd-install.yaml
components:
  - $component
images:
  - name: ghcr.io/example/kiln
    newName: registry.example.com/platform/kiln
    newTag: 0.1.0
KUSTOMIZATION

if command -v kubectl > /dev/null; then
  kubectl kustomize "$work" > "$work/built.yaml"
elif command -v kustomize > /dev/null; then
  kustomize build "$work" > "$work/built.yaml"
else
  echo "check-install: neither kubectl nor kustomize is installed" >&2
  exit 1
fi
"$python" "$here/check_install.py" "$work/built.yaml" "$repo/examples/argocd" \
  registry.example.com/platform/kiln:0.1.0
# The README's registry Secret, made by its own command (offline: --dry-run=client), is
# what the init container mounts: type dockerconfigjson, key .dockerconfigjson, named
# kiln-registry. Only kubectl makes it; kustomize alone cannot.
if command -v kubectl > /dev/null; then
  kubectl -n argocd create secret docker-registry kiln-registry \
    --docker-server=registry.example.com --docker-username=argocd --docker-password=TOKEN \
    --dry-run=client -o yaml > "$work/secret.yaml"
  "$python" - "$work/secret.yaml" "$work/built.yaml" <<'PY'
import base64, json, sys, yaml
secret = yaml.safe_load(open(sys.argv[1]))
assert secret["type"] == "kubernetes.io/dockerconfigjson", secret["type"]
config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
assert "registry.example.com" in config["auths"], config
deployment = next(o for o in yaml.safe_load_all(open(sys.argv[2]))
                  if o and o["kind"] == "Deployment" and o["metadata"]["name"] == "argocd-repo-server")
volumes = deployment["spec"]["template"]["spec"]["volumes"]
mounted = [v["secret"] for v in volumes if "secret" in v and v["secret"]["secretName"] == secret["metadata"]["name"]]
assert mounted, "no volume mounts the README's Secret"
assert any(i["key"] == ".dockerconfigjson" for i in mounted[0]["items"]), mounted
print("the README's kiln-registry Secret is what the init container mounts")
PY
fi

# The optional resident renderer (examples/argocd/server), on top of the same build.
mkdir "$work/with-server"
cp "$work/argocd-install.yaml" "$work/with-server/"
sed -e "s|^  - $component\$|  - ../$component\n  - ../$component/server|" \
  "$work/kustomization.yaml" > "$work/with-server/kustomization.yaml"
if command -v kubectl > /dev/null; then
  kubectl kustomize "$work/with-server" > "$work/built-server.yaml"
else
  kustomize build "$work/with-server" > "$work/built-server.yaml"
fi
"$python" "$here/check_install.py" "$work/built-server.yaml" "$repo/examples/argocd" \
  registry.example.com/platform/kiln:0.1.0 --server

validate="$(dirname "$python")/kubernetes-validate"
if [ -x "$validate" ]; then
  "$validate" --strict -k 1.31.0 --quiet "$work/built.yaml" "$work/built-server.yaml"
  echo "every object of both builds is valid Kubernetes 1.31 (strict)"
fi
