# pg_lib.sh: what the PostgreSQL references of `make bench` share (sourced by postgis.sh,
# postgis_nearest.sh and postgis_kpi.sh; docs/BENCHMARKS.md). The caller defines
# unavailable REASON (print a skip record and exit 0) and log MESSAGE before sourcing.
#
#   pg_require [install]        finds the newest PostgreSQL server with PostGIS and pgbench
#                               (sets bindir, pgbench); with "install", installs them as
#                               root on Debian when missing (unless BENCH_NO_INSTALL=1)
#   pg_start NAME PORT BUFFERS  a throw-away cluster in /tmp/civgrid-bench-NAME.XXXXXX (as the
#                               postgres user when root; socket only), removed on exit; sets
#                               tmp and the PG* variables, defines sql
#   pg_stage FILE NAME          copies FILE to $tmp/NAME, where the server can read it

pg_bindir() { # the newest installed server's bin directory, or nothing
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}
pg_has_postgis() { # bin-dir
    [ -f "/usr/share/postgresql/$(basename "$(dirname "$1")")/extension/postgis.control" ]
}

pg_require() { # [install]
    bindir=$(pg_bindir)
    if [ -z "$bindir" ] || ! pg_has_postgis "$bindir" || ! command -v pgbench >/dev/null; then
        if [ "${1:-}" != install ] || [ "$(id -u)" != 0 ] || [ "${BENCH_NO_INSTALL:-0}" = 1 ] ||
            ! command -v apt-get >/dev/null; then
            unavailable "PostgreSQL with PostGIS is not installed (apt-get install postgresql-15-postgis-3 postgresql-contrib)"
        fi
        log "installing postgresql-15-postgis-3 postgresql-contrib (apt)"
        apt-get update -qq >&2 || true
        # A policy-rc.d that says no keeps the packages from starting a system cluster.
        local policy="" rc
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postgresql-15 postgresql-15-postgis-3 postgresql-contrib >/dev/null 2>&1
        rc=$?
        [ -n "$policy" ] && rm -f "$policy"
        [ "$rc" = 0 ] || unavailable "apt-get install of PostGIS failed"
        bindir=$(pg_bindir)
        if [ -z "$bindir" ] || ! pg_has_postgis "$bindir"; then
            unavailable "PostGIS did not install"
        fi
    fi
    pgbench=$(command -v pgbench || echo "$bindir/pgbench")
    [ -x "$pgbench" ] || unavailable "pgbench is not installed (postgresql-contrib)"
}

pg_started=0
as_owner() { "$@"; }
pg_cleanup() {
    if [ "$pg_started" = 1 ]; then
        as_owner "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
    fi
    [ -n "${tmp:-}" ] && rm -rf "$tmp"
}

pg_start() { # name port shared-buffers
    tmp=$(mktemp -d "/tmp/civgrid-bench-$1.XXXXXX")
    trap pg_cleanup EXIT
    trap 'exit 130' INT TERM
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || unavailable "running as root and there is no postgres user"
        chown postgres: "$tmp"
        as_owner() { runuser -u postgres -- "$@"; }
    fi
    log "initdb and start in $tmp"
    as_owner "$bindir/initdb" -D "$tmp/data" -U bench -A trust -E UTF8 --locale=C --no-sync \
        >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; unavailable "initdb failed"; }
    as_owner "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
        -o "-k $tmp -p $2 -c listen_addresses= -c shared_buffers=$3" start >/dev/null 2>&1 ||
        { cat "$tmp/server.log" >&2; unavailable "the server did not start"; }
    pg_started=1
    export PGHOST=$tmp PGPORT=$2 PGUSER=bench PGDATABASE=postgres
    export PGOPTIONS="-c client_min_messages=warning"
    pg_version=$(sql -c "SHOW server_version")
}

sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

pg_stage() { # file name
    cp "$1" "$tmp/$2" || return 1
    [ "$(id -u)" != 0 ] || chown postgres: "$tmp/$2"
}

pg_join() { local IFS=,; echo "$*"; }
pg_emit() { # id what size unit better samples-csv [extra-json]
    printf '{"type":"result","id":"%s","what":"%s","size":"%s","unit":"%s","better":"%s","samples":[%s]%s}\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "${7:+,$7}"
}
pg_info() { # id json-value
    printf '{"type":"info","id":"%s","value":%s}\n' "$1" "$2"
}
