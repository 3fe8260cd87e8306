#!/usr/bin/env bash
# Installs what the registry rig (tests/e2e/registry_rig.rs) runs: Debian's docker-registry,
# skopeo, apache2-utils (htpasswd) and openssl when any is missing, and the Python packages of
# requirements.txt into the venv VENV (created if needed). Run by .ci/run, and by the rig
# itself the first time a test needs it, so that `cargo test --workspace` works on a fresh
# clone. Usage: tests/registry/install.sh VENV
set -euo pipefail
venv=${1:?usage: install.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v docker-registry > /dev/null || ! command -v skopeo > /dev/null \
  || ! command -v htpasswd > /dev/null || ! command -v openssl > /dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  # docker-registry's postinst asks invoke-rc.d to start a service on :5000. A policy-rc.d
  # that exits 101 denies it, so that no stray registry runs; one is put there for the
  # install when the machine has none (README.md here, "CI").
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d > /dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    policy=made
  fi
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    docker-registry skopeo apache2-utils openssl
  [ -z "$policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
fi
docker-registry --version
skopeo --version

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"
