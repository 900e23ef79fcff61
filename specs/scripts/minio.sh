#!/bin/sh
# Example provision step for container/minio (docs/provisioning.md): idempotent, so it may run
# again whenever it, its args or its env references change. Usage: minio.sh --data DIR
set -eu
data=/srv/minio
if [ "${1:-}" = "--data" ]; then data=$2; fi
[ -n "${MINIO_ROOT_PASSWORD:-}" ] || { echo "MINIO_ROOT_PASSWORD is not set" >&2; exit 2; }
mkdir -p "$data"
if ! command -v minio >/dev/null 2>&1; then
  echo "minio is not installed: install it from the seed's package mirror first" >&2
  exit 3
fi
umask 077
printf 'MINIO_ROOT_USER=datalake\nMINIO_ROOT_PASSWORD=%s\nMINIO_VOLUMES=%s\n' \
  "$MINIO_ROOT_PASSWORD" "$data" > /etc/default/minio
systemctl enable --now minio
