# Sourced by the benches that take `--db` and `--instances`.
#   --db postgres           a private cluster (scripts/pg-cluster), removed
#                           at exit, with fsync on as in production
#   --db postgres://…/NAME  an existing server; each run gets a database of
#                           its own there, dropped after the run
#   (none)                  SQLite, the embedded default
# `parse_db_args "$@"` sets db, instances and the remaining arguments in
# rest; `fresh_db` sets on to a new empty database URL for one run (empty
# for SQLite; not in a subshell, so that drop_dbs knows it); `drop_dbs`
# drops those made.

db=""
instances=1
rest=()
made=()
cluster=""

parse_db_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
        --db) db="${2:?--db needs a value}"; shift 2 ;;
        --instances) instances="${2:?--instances needs a value}"; shift 2 ;;
        *) rest+=("$1"); shift ;;
        esac
    done
    if [ "$instances" -gt 1 ] && [ -z "$db" ]; then
        echo "several instances share one PostgreSQL: give --db postgres or --db postgres://…" >&2
        exit 2
    fi
    if [ "$db" = postgres ]; then
        cluster="$(mktemp -u /tmp/herald-bench-pg.XXXXXX)"
        db="$(PG_CLUSTER_DURABLE=1 bash scripts/pg-cluster start "$cluster")"
    fi
}

fresh_db() {
    on=""
    [ -n "$db" ] || return 0
    local name="herald_bench_$$_${#made[@]}"
    psql -qAt "$db" -c "CREATE DATABASE $name" >/dev/null
    made+=("$name")
    on="${db%/*}/$name"
}

drop_dbs() {
    for name in "${made[@]}"; do
        psql -qAt "$db" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
    done
    [ -z "$cluster" ] || bash scripts/pg-cluster stop "$cluster"
}
