#!/usr/bin/env bash
# Start a local PostgreSQL server for the shared tuning study (`campaign tune --storage postgresql://...`)
# and print its URL on the last line of stdout. Idempotent: installs Debian's `postgresql` package only
# when no server binaries exist, creates the cluster, role and database only when missing, starts the
# cluster only when it is down. Needs root (apt-get; the server itself runs as the `postgres` user).
# It listens on 127.0.0.1 only. Settings: CAMPAIGN_PG_PORT (5432), CAMPAIGN_PG_USER (campaign),
# CAMPAIGN_PG_PASSWORD (campaign), CAMPAIGN_PG_DB (campaign_tune).
set -euo pipefail
PORT="${CAMPAIGN_PG_PORT:-5432}"
ROLE="${CAMPAIGN_PG_USER:-campaign}"
PASSWORD="${CAMPAIGN_PG_PASSWORD:-campaign}"
DB="${CAMPAIGN_PG_DB:-campaign_tune}"

exec 9>/tmp/campaign-start-postgres.lock  # two callers at once (CI and a test) take turns
flock 9

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

if ! pg_lsclusters -h | awk '{print $1 "/" $2}' | grep -qx "$VERSION/main"; then
    pg_createcluster "$VERSION" main --port "$PORT" >/dev/null
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"
CONF_D="/etc/postgresql/$VERSION/main/conf.d"  # Debian's postgresql.conf includes this folder
mkdir -p "$CONF_D"
echo "listen_addresses = '127.0.0.1'" > "$CONF_D/campaign.conf"
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$VERSION" main start 9>&-  # the server must not inherit (and hold) the lock
fi
for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { echo "PostgreSQL $VERSION did not start on 127.0.0.1:$PORT" >&2; exit 1; }

as_postgres() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
if [ "$(as_postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    as_postgres -c "CREATE ROLE \"$ROLE\" LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi
if [ "$(as_postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    as_postgres -c "CREATE DATABASE \"$DB\" OWNER \"$ROLE\""
fi
echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
