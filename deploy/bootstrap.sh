#!/usr/bin/env bash
# Sets up everything Kontakt needs on a fresh Debian machine, idempotently:
#   1. Debian packages the tests use (as root only: Debian's clickhouse-server for the
#      clickhouse-driver contract, chromium and a Cyrillic font for the board's browser test);
#   2. a virtualenv in .venv with the project and its test tools;
#   3. the Apache Kafka broker jars from Maven Central, cached outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kafka broker needs a JRE 17+ and Maven (to resolve its jars, deploy/kafka/fetch.sh);
# the broker tests drop root's DAC override with setpriv (util-linux); the clock sweep moves
# every test process's clock with libfaketime (tests/clock_sweep.py).
APT_PACKAGES=(clickhouse-server chromium fonts-dejavu-core openjdk-17-jre-headless maven util-linux
              libfaketime)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not root, so not installing ${missing[*]}; run 'sudo apt-get install ${missing[*]}'" >&2
  fi
fi

PY=${PY:-python3}
stamp=.venv/.kontakt-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi

bash deploy/kafka/fetch.sh
