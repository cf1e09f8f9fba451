#!/usr/bin/env bash
# axe-core for the accessibility check (tests/e2e/test_every_page.py), from the npm registry.
# Pinned; npm checks the package against the registry's integrity hash. The file (650 kB) stays
# out of git: tests/e2e/vendor/ is ignored. Its licence (MPL-2.0) is copied beside it.
set -euo pipefail
AXE_VERSION="${AXE_VERSION:-4.14.1}"
vendor="$(cd "$(dirname "$0")" && pwd)/vendor"
[ -f "$vendor/axe.min.js" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq npm >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null && tar xzf axe-core-*.tgz)
mkdir -p "$vendor"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$vendor/"
