#!/usr/bin/env sh
# Checks that the protocol document names every step of a lease.
set -e
for word in claim release handshake; do
  grep -q "$word" docs/oxygen-protocol.md || { echo "protocol does not mention $word"; exit 1; }
done
echo "protocol document complete"
