#!/usr/bin/env bash
# Installs Debian's redis-server, postgresql and nginx for the replica tests when missing: the
# tests' fixtures start throwaway instances of them (initdb + pg_ctl, redis-server, nginx with the
# compose file's proxy config) and stop them. Debian's packages may start default services; they
# are stopped here, as the tests never use them.
set -euo pipefail
have_pg() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_nginx() { [ -x /usr/sbin/nginx ]; }
if command -v redis-server >/dev/null && have_pg && have_nginx; then exit 0; fi
if [ "$(id -u)" != "0" ]; then SUDO=sudo; else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
have_pg || packages+=(postgresql)
have_nginx || packages+=(nginx)
install() { $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }
install || { $SUDO apt-get update -qq && install; }
# Package scripts start the default services where an init system runs; the tests start their own.
$SUDO service redis-server stop >/dev/null 2>&1 || true
$SUDO service postgresql stop >/dev/null 2>&1 || true
$SUDO service nginx stop >/dev/null 2>&1 || true
redis-server --version
ls /usr/lib/postgresql/*/bin/initdb
/usr/sbin/nginx -v
