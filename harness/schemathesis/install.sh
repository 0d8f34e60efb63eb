#!/usr/bin/env bash
# Installs schemathesis (pinned) from PyPI into a virtualenv cached outside the repository, keyed by
# version, and prints the path of its `st`. A second run finds the cache and downloads nothing.
set -euo pipefail
version=4.32.5
cache="${TODO_CI_CACHE:-/var/cache/todo-ci}/schemathesis-${version}"
if [ ! -f "$cache/.complete" ]; then
  rm -rf "$cache"
  mkdir -p "$(dirname "$cache")"
  python3 -m venv "$cache" >&2
  "$cache/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${version}" >&2
  touch "$cache/.complete"
fi
"$cache/bin/st" --version >&2
printf '%s\n' "$cache/bin/st"
