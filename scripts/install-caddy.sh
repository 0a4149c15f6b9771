#!/usr/bin/env bash
# Installs Debian's Caddy (the reverse proxy of deploy/Caddyfile) for the deploy recipe's tests
# when missing. The package's own service is not started here (tests run their own Caddy).
set -euo pipefail
if [ -x /usr/bin/caddy ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then SUDO=sudo; else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends caddy >/dev/null
/usr/bin/caddy version
