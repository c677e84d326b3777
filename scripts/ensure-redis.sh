#!/usr/bin/env bash
# The queue benchmark compares against BullMQ, which needs a Redis server on
# 127.0.0.1. Installs Debian's redis-server when it is missing (bench only;
# the test suite never needs it).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "redis-server is missing; install it (apt-get install redis-server) to run the BullMQ comparison" >&2
  exit 1
fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
