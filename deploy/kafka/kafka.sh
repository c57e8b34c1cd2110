#!/usr/bin/env bash
# start|stop|status of the local Kafka broker, for shells and scripts without the venv on PATH.
# A thin wrapper: the one implementation is services/local/kafka.py (`kontakt kafka ...`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in
  start|stop|status) ;;
  *) echo "usage: $0 start|stop|status [--timeout SECONDS]" >&2; exit 2 ;;
esac
if [ -x "$root/.venv/bin/kontakt" ]; then
  exec "$root/.venv/bin/kontakt" kafka "$@"
fi
cd "$root"
exec python3 -m services.cli.main kafka "$@"
