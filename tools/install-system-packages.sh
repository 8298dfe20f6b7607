#!/usr/bin/env bash
# Installs the Debian packages the tests and `make run` start as real servers or drive:
#   chromium   the web console's end-to-end tests (playwright-core drives it)
#   prosody    the XMPP server for TR-069 Annex K connection requests
#   coturn     the STUN server for TR-069 Annex G (UDP connection requests behind NAT)
#   nftables, iproute2  the network-namespace NAT the Annex G tests build
# Idempotent: packages already installed are left alone; nothing runs as a system service
# (the tests start each server themselves on free ports with a generated config).
# Without root or apt (a developer laptop), it says what is missing and the tests that
# need it skip with that reason.
set -euo pipefail

PACKAGES=(chromium prosody coturn nftables iproute2)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages present: ${PACKAGES[*]}"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "system packages missing (need root and apt-get to install): ${missing[*]}" >&2
  exit 0
fi
# Keep the packages' maintainer scripts from starting system-wide daemons.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages installed: ${missing[*]}"
