#!/usr/bin/env bash
# Make `prometheus` and `promtool` available for the Prometheus tests (tests/ops): Debian's
# `prometheus` package, installed with apt-get when missing and we may (root, apt-get present).
# Never fails the build: when they cannot be had it says so in one line and the tests skip
# (naming why). Called by `make pytest` before pytest.
set -uo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "ensure-prometheus: prometheus/promtool missing and not installable here (needs root and apt-get): the Prometheus tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { timeout 300 apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; }
if apt_install || { timeout 300 apt-get update -qq >/dev/null 2>&1 && apt_install; }; then
    echo "ensure-prometheus: installed Debian's prometheus ($(promtool --version 2>&1 | head -1))" >&2
else
    echo "ensure-prometheus: apt-get install prometheus failed: the Prometheus tests will skip" >&2
fi
exit 0
