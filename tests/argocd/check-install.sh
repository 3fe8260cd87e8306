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
validate="$(dirname "$python")/kubernetes-validate"
if [ -x "$validate" ]; then
  "$validate" --strict -k 1.31.0 --quiet "$work/built.yaml"
  echo "every object of the build is valid Kubernetes 1.31 (strict)"
fi
