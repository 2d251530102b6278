#!/usr/bin/env bash
# Things the test suite needs besides Python packages: the npm packages of each
# JavaScript test harness under tests/js/*/ (pinned by their package-lock.json),
# Debian's Chromium for the browser tests, and Debian's profanity and poezio (and
# tmux, which drives them) for the standard-client XMPP tests. Idempotent; fast when
# all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

for dir in tests/js/*/; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done

if [ "${TIDINGS_NEEDS_CHROMIUM:-0}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null  # emoji: the screenshots
  else
    echo "chromium is missing and we are not root: browser tests will skip (fail under CI=true)"
  fi
fi

if ! command -v profanity >/dev/null 2>&1 || ! command -v poezio >/dev/null 2>&1 \
  || ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian's profanity, poezio and tmux for the XMPP client tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq profanity poezio tmux >/dev/null
  else
    echo "profanity, poezio or tmux is missing and we are not root: their tests will skip"
  fi
fi
