#!/usr/bin/env bash
# The command line contract of docs/api.md §7: version, exit 2 on bad config,
# exit 0 on SIGTERM.
set -u
bin="$1"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$bin" version | grep -q '^switchyard ' || fail "version does not print 'switchyard <version>'"

printf '[retry]\ninitial_msec = 5\n' > "$tmp/bad.toml"
out=$("$bin" serve --config "$tmp/bad.toml" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "unknown key exits $rc, want 2"
echo "$out" | grep -q 'retry.initial_msec' || fail "unknown key not named: $out"

printf '[storage]\nsync = "yes"\n' > "$tmp/bad2.toml"
out=$("$bin" serve --config "$tmp/bad2.toml" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "wrong type exits $rc, want 2"
echo "$out" | grep -q 'storage.sync' || fail "wrong type not named: $out"

out=$("$bin" serve --config "$tmp/missing.toml" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "missing config file exits $rc, want 2"

out=$("$bin" serve --listen 0.0.0.0:0 --data "$tmp/d" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "open listener without tokens exits $rc, want 2"

"$bin" serve --listen 127.0.0.1:0 --data "$tmp/data" > "$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q 'starting' "$tmp/log" && break; sleep 0.1; done
kill -TERM $pid
for _ in $(seq 1 200); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
  kill -9 $pid
  fail "still running 20 s after SIGTERM: $(cat "$tmp/log")"
fi
wait $pid; rc=$?
[ $rc -eq 0 ] || fail "SIGTERM exits $rc, want 0: $(cat "$tmp/log")"
echo "cli: all checks passed"
