#!/usr/bin/env bash
# Local real infrastructure for cellpay: MariaDB/MySQL (a global instance, and per cell a primary
# with a semi-synchronous AFTER_SYNC GTID replica), Redis and a single-node KRaft Kafka broker, all
# as plain processes on 127.0.0.1 with their own data directories under $CELLPAY_INFRA_DIR.
#
#   infra.sh up [--started-file F]   start what is not running; wait until each service answers;
#                                    with --started-file, append the names of what it started to F
#   infra.sh down [--only-file F]    stop what this tool started (by pid); with --only-file, only
#                                    the services named in F
#   infra.sh status [--quiet]        one line per service; exit 1 if any is down
#   infra.sh endpoints               print the endpoints JSON the tests and the platform read
#
# Settings (environment): CELLPAY_CELLS (default 3), CELLPAY_INFRA_DIR (default <repo>/.infra),
# CELLPAY_MYSQL_PORT_BASE (3400: global on +0, cell N primary on +10N+1, replica on +10N+2),
# CELLPAY_REDIS_PORT (6390), CELLPAY_KAFKA_PORT (9192; its controller listens on +1),
# CELLPAY_MYSQLD (path of the server binary; MariaDB or MySQL 8 are both understood),
# CELLPAY_INFRA_SERVICES (comma list of mysql, redis, kafka; default all: a test that needs its own
# MySQL pair, say for failover, starts only mysql under its own state dir and port base).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
state="${CELLPAY_INFRA_DIR:-$repo/.infra}"
# Without CELLPAY_CELLS, status and down follow the cell count of the last `up`.
cells="${CELLPAY_CELLS:-$(cat "$state/cells" 2>/dev/null || echo 3)}"
mysql_port_base="${CELLPAY_MYSQL_PORT_BASE:-3400}"
redis_port="${CELLPAY_REDIS_PORT:-6390}"
kafka_port="${CELLPAY_KAFKA_PORT:-9192}"
kafka_controller_port=$((kafka_port + 1))
kafka_lib="$here/kafka/lib"
services=",${CELLPAY_INFRA_SERVICES:-mysql,redis,kafka},"
wants() { [[ "$services" == *",$1,"* ]]; }
# Bounds on every wait, so a broken service fails the command instead of hanging it.
ready_wait_seconds_max=90
stop_wait_seconds_max=30

# Credentials of the local test installation only (loopback, throwaway data directories).
app_user=cellpay
app_password=cellpay
# The cell and relay processes' account: data privileges on the cell's database only, so a fence
# (read_only=ON) stops it. The admin account above has READ ONLY ADMIN (part of ALL PRIVILEGES),
# which MariaDB lets write through read_only; it is for migrations and the control plane.
data_user=cellpay_data
data_password=cellpay_data
repl_user=repl
repl_password=repl

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

[[ "$cells" =~ ^[1-9][0-9]?$ ]] || die "CELLPAY_CELLS must be a number from 1 to 99, got '$cells'"

# ---------------------------------------------------------------------------------------------
# Binaries: find them, or install them (root on Debian), or say exactly what is missing.
# ---------------------------------------------------------------------------------------------
apt_updated=0
install_or_die() { # <command> <debian package> <what to install elsewhere>
  local cmd="$1" pkg="$2" hint="$3"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" == 0 && -f /etc/debian_version ]] && command -v apt-get >/dev/null; then
    log "installing $pkg (needed for $cmd)"
    if [[ "$apt_updated" == 0 ]]; then apt-get update -qq >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
    command -v "$cmd" >/dev/null 2>&1 || die "installed $pkg but '$cmd' is still not on PATH"
  else
    die "'$cmd' not found. Install $hint (on Debian/Ubuntu: apt-get install $pkg), or run as root on Debian to let this script install it."
  fi
}

mysqld_bin=""
mysql_flavor=""
find_mysql() {
  if [[ -n "${CELLPAY_MYSQLD:-}" ]]; then
    mysqld_bin="$CELLPAY_MYSQLD"
  elif command -v mariadbd >/dev/null 2>&1; then
    mysqld_bin="$(command -v mariadbd)"
  elif command -v mysqld >/dev/null 2>&1; then
    mysqld_bin="$(command -v mysqld)"
  elif [[ -x /usr/sbin/mariadbd ]]; then
    mysqld_bin=/usr/sbin/mariadbd
  else
    install_or_die mariadbd mariadb-server "MariaDB 10.6+ or MySQL 8"
    mysqld_bin="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
  fi
  if "$mysqld_bin" --version 2>/dev/null | grep -qi mariadb; then mysql_flavor=mariadb; else mysql_flavor=mysql; fi
}
mysql_client() {
  if command -v mariadb >/dev/null 2>&1; then echo mariadb; else echo mysql; fi
}

# ---------------------------------------------------------------------------------------------
# Processes: a pid file per service; a pid only counts if its command line names our state dir.
# ---------------------------------------------------------------------------------------------
pid_alive() { # <pidfile>
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  # Redis rewrites its process title, so its working directory (its --dir) is checked as well.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$state" && return 0
  [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$state"* ]]
}
stop_pid() { # <name> <pidfile>
  local name="$1" pidfile="$2" pid i
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_wait_seconds_max * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  log "$name did not stop in ${stop_wait_seconds_max}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}
wait_until() { # <description> <command...>: poll every 0.2 s, bounded
  local what="$1" i
  shift
  for ((i = 0; i < ready_wait_seconds_max * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "$what did not become ready within ${ready_wait_seconds_max}s"
}

# ---------------------------------------------------------------------------------------------
# MySQL instances. Names: global, cell-N-primary, cell-N-replica.
# ---------------------------------------------------------------------------------------------
mysql_names() {
  echo global
  local n
  for ((n = 1; n <= cells; n++)); do echo "cell-$n-primary" "cell-$n-replica"; done
}
mysql_port() { # <name>
  case "$1" in
    global) echo "$mysql_port_base" ;;
    cell-*-primary) local n="${1#cell-}"; n="${n%-primary}"; echo $((mysql_port_base + 10 * n + 1)) ;;
    cell-*-replica) local n="${1#cell-}"; n="${n%-replica}"; echo $((mysql_port_base + 10 * n + 2)) ;;
  esac
}
mysql_server_id() { # <name>: unique per instance, stable across restarts
  echo $(($(mysql_port "$1") - mysql_port_base + 1))
}
mysql_dir() { echo "$state/mysql/$1"; }
mysql_sock() { echo "$(mysql_dir "$1")/mysqld.sock"; }
sql_root() { # <name> <sql>: as root over the instance's own socket
  "$(mysql_client)" --no-defaults -uroot -S "$(mysql_sock "$1")" -N -B -e "$2"
}
sql_vertical() { # <name> <sql>: one "column: value" per line, for SHOW ... STATUS
  "$(mysql_client)" --no-defaults -uroot -S "$(mysql_sock "$1")" -E -e "$2"
}

write_mysql_config() { # <name>
  local name="$1" dir
  dir="$(mysql_dir "$name")"
  mkdir -p "$dir/tmp"
  {
    if [[ "$mysql_flavor" == mariadb ]]; then echo "[mariadbd]"; else echo "[mysqld]"; fi
    cat <<EOF
datadir=$dir/data
# Own tmpdir: instances bootstrapped in parallel otherwise collide on temporary table names.
tmpdir=$dir/tmp
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
port=$(mysql_port "$name")
bind-address=127.0.0.1
server-id=$(mysql_server_id "$name")
log-bin=$dir/data/binlog
binlog_format=ROW
sync_binlog=1
innodb_flush_log_at_trx_commit=1
innodb_buffer_pool_size=64M
performance_schema=OFF
skip-name-resolve
max_connections=400
character-set-server=utf8mb4
collation-server=utf8mb4_bin
sql_mode=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION
EOF
    if [[ "$mysql_flavor" == mariadb ]]; then
      cat <<EOF
log-basename=$name
gtid_strict_mode=ON
log_slave_updates=ON
# Semi-sync is switched on by infra.sh once the replica is attached (a primary whose replica is not
# yet connected would otherwise hold its first commits for the whole ack timeout).
rpl_semi_sync_master_enabled=OFF
rpl_semi_sync_master_wait_point=AFTER_SYNC
rpl_semi_sync_master_timeout=10000
rpl_semi_sync_slave_enabled=ON
EOF
      # A shard server always starts fenced: a primary that died and is restarted must not take a
      # write before the control plane has decided what it is. `up` unfences a primary that has no
      # replication source (attach_replica); the failover engine unfences a promoted one.
      if [[ "$name" == cell-* ]]; then echo "read_only=ON"; fi
    else
      cat <<EOF
gtid_mode=ON
enforce_gtid_consistency=ON
log_replica_updates=ON
plugin-load-add=semisync_source.so
plugin-load-add=semisync_replica.so
rpl_semi_sync_source_enabled=OFF
rpl_semi_sync_source_wait_point=AFTER_SYNC
rpl_semi_sync_source_timeout=10000
rpl_semi_sync_replica_enabled=ON
mysqlx=OFF
EOF
    fi
  } >"$dir/my.cnf"
}

init_mysql_datadir() { # <name>
  local name="$1" dir
  dir="$(mysql_dir "$name")"
  [[ -d "$dir/data/mysql" ]] && return 0
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  log "initialising $name data directory"
  if [[ "$mysql_flavor" == mariadb ]]; then
    local installer
    installer="$(command -v mariadb-install-db || command -v mysql_install_db || echo /usr/bin/mariadb-install-db)"
    "$installer" --defaults-file="$dir/my.cnf" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      die "initialising $name failed; see $dir/install.log"
  else
    "$mysqld_bin" --defaults-file="$dir/my.cnf" --initialize-insecure --user="$(id -un)" \
      >"$dir/install.log" 2>&1 || die "initialising $name failed; see $dir/install.log"
  fi
}

start_mysql() { # <name>: returns 0 if it started it, 1 if it was already running
  local name="$1" dir
  dir="$(mysql_dir "$name")"
  if pid_alive "$dir/mysqld.pid"; then return 1; fi
  log "starting $name on 127.0.0.1:$(mysql_port "$name")"
  "$mysqld_bin" --defaults-file="$dir/my.cnf" --user="$(id -un)" >"$dir/stdout.log" 2>&1 &
  return 0
}

mysql_answers() { sql_root "$1" "SELECT 1"; }

# Users and databases are created on primaries (and the global instance) only; replicas receive
# them through replication, so a replica never diverges from its primary's GTID history.
bootstrap_primary() { # <name> <database>
  local name="$1" database="$2"
  sql_root "$name" "
    CREATE USER IF NOT EXISTS '$app_user'@'127.0.0.1' IDENTIFIED BY '$app_password';
    CREATE USER IF NOT EXISTS '$app_user'@'localhost' IDENTIFIED BY '$app_password';
    GRANT ALL PRIVILEGES ON *.* TO '$app_user'@'127.0.0.1' WITH GRANT OPTION;
    GRANT ALL PRIVILEGES ON *.* TO '$app_user'@'localhost' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS '$repl_user'@'127.0.0.1' IDENTIFIED BY '$repl_password';
    GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$repl_user'@'127.0.0.1';
    CREATE DATABASE IF NOT EXISTS \`$database\`;
    CREATE USER IF NOT EXISTS '$data_user'@'127.0.0.1' IDENTIFIED BY '$data_password';
    GRANT SELECT, INSERT, UPDATE, DELETE ON \`$database\`.* TO '$data_user'@'127.0.0.1';"
}

attach_replica() { # <cell number>
  local n="$1" primary="cell-$1-primary" replica="cell-$1-replica" status
  if [[ "$mysql_flavor" == mariadb ]]; then
    status="$(sql_root "$replica" "SHOW SLAVE STATUS" || true)"
    if [[ -z "$status" ]]; then
      log "attaching cell-$n replica to its primary (GTID, semi-sync)"
      sql_root "$replica" "
        CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(mysql_port "$primary"),
          MASTER_USER='$repl_user', MASTER_PASSWORD='$repl_password',
          MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
        SET GLOBAL read_only=ON;
        START SLAVE;"
    else
      sql_root "$replica" "SET GLOBAL read_only=ON; START SLAVE;"
    fi
    if [[ -z "$(sql_root "$primary" "SHOW SLAVE STATUS" || true)" ]]; then
      sql_root "$primary" "SET GLOBAL read_only=OFF"
    fi
    wait_until "cell-$n replica IO thread" replica_connected "$replica"
    sql_root "$primary" "SET GLOBAL rpl_semi_sync_master_enabled=ON"
    wait_until "cell-$n semi-sync client" semi_sync_clients "$primary"
  else
    status="$(sql_root "$replica" "SHOW REPLICA STATUS" || true)"
    if [[ -z "$status" ]]; then
      log "attaching cell-$n replica to its primary (GTID, semi-sync)"
      sql_root "$replica" "
        CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=$(mysql_port "$primary"),
          SOURCE_USER='$repl_user', SOURCE_PASSWORD='$repl_password',
          SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1;
        SET GLOBAL super_read_only=ON;
        START REPLICA;"
    else
      sql_root "$replica" "SET GLOBAL super_read_only=ON; START REPLICA;"
    fi
    wait_until "cell-$n replica IO thread" replica_connected "$replica"
    sql_root "$primary" "SET GLOBAL rpl_semi_sync_source_enabled=ON"
    wait_until "cell-$n semi-sync client" semi_sync_clients "$primary"
  fi
}
replica_connected() { # <replica name>
  if [[ "$mysql_flavor" == mariadb ]]; then
    sql_vertical "$1" "SHOW SLAVE STATUS" | grep -q 'Slave_IO_Running: Yes'
  else
    sql_vertical "$1" "SHOW REPLICA STATUS" | grep -q 'Replica_IO_Running: Yes'
  fi
}
semi_sync_clients() { # <primary name>: at least one semi-sync replica is acknowledging
  local var=Rpl_semi_sync_master_clients
  [[ "$mysql_flavor" == mysql ]] && var=Rpl_semi_sync_source_clients
  [[ "$(sql_root "$1" "SHOW GLOBAL STATUS LIKE '$var'" | awk '{print $2}')" -ge 1 ]]
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_dir() { echo "$state/redis"; }
start_redis() {
  local dir
  dir="$(redis_dir)"
  if pid_alive "$dir/redis.pid"; then return 1; fi
  mkdir -p "$dir"
  log "starting redis on 127.0.0.1:$redis_port"
  # Persistence is off: the local Redis holds caches, rate-limit buckets and pub/sub only.
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$dir" --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --daemonize yes --save '' --appendonly no \
    --protected-mode yes --maxmemory 256mb --maxmemory-policy noeviction \
    --unixsocket "$dir/redis.sock" >/dev/null
  return 0
}
redis_answers() { [[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" == PONG ]]; }

# ---------------------------------------------------------------------------------------------
# Kafka: the official broker artifacts, resolved by Maven from tools/infra/kafka/pom.xml (the local
# Maven repository caches them between runs), as one KRaft node (broker + controller).
# ---------------------------------------------------------------------------------------------
kafka_dir() { echo "$state/kafka"; }
resolve_kafka() {
  if compgen -G "$kafka_lib/kafka_2.13-*.jar" >/dev/null; then return 0; fi
  install_or_die mvn maven "Apache Maven 3.8+"
  log "resolving the Kafka broker from Maven Central (cached in ~/.m2 afterwards)"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$kafka_lib" -DincludeScope=runtime >&2 ||
    die "Maven could not resolve org.apache.kafka:kafka_2.13 (see the output above)"
}
start_kafka() {
  local dir
  dir="$(kafka_dir)"
  if pid_alive "$dir/kafka.pid"; then return 1; fi
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$kafka_controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$kafka_controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# Topics are created explicitly by the services that own them (partitions, retention chosen there).
auto.create.topics.enable=false
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=WARN, file
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(java -cp "$kafka_lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$kafka_lib/*" kafka.tools.StorageTool \
      format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
      die "formatting the Kafka log directory failed; see $dir/format.log"
  fi
  log "starting kafka on 127.0.0.1:$kafka_port"
  : >"$dir/server.log"
  nohup java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dcellpay.infra="$state" \
    -cp "$kafka_lib/*" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/kafka.pid"
  return 0
}
kafka_answers() {
  pid_alive "$(kafka_dir)/kafka.pid" || return 1
  grep -q 'Kafka Server started' "$(kafka_dir)/server.log" 2>/dev/null || return 1
  (exec 3<>"/dev/tcp/127.0.0.1/$kafka_port") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
write_endpoints() {
  local n first=1
  {
    printf '{\n  "flavor": "%s",\n' "$mysql_flavor"
    printf '  "mysql": { "host": "127.0.0.1", "user": "%s", "password": "%s" },\n' "$app_user" "$app_password"
    printf '  "mysqlData": { "user": "%s", "password": "%s" },\n' "$data_user" "$data_password"
    printf '  "global": { "port": %s, "database": "cellpay_global" },\n' "$(mysql_port global)"
    printf '  "cells": ['
    for ((n = 1; n <= cells; n++)); do
      [[ $first == 1 ]] || printf ','
      first=0
      printf '\n    { "id": "cell-%s", "database": "cellpay_cell_%s", "primary": { "port": %s }, "replica": { "port": %s } }' \
        "$n" "$n" "$(mysql_port "cell-$n-primary")" "$(mysql_port "cell-$n-replica")"
    done
    printf '\n  ],\n'
    printf '  "redis": { "host": "127.0.0.1", "port": %s },\n' "$redis_port"
    printf '  "kafka": { "brokers": ["127.0.0.1:%s"] }\n}\n' "$kafka_port"
  } >"$state/endpoints.json"
}

cmd_up() {
  local started_file="" started=() name n
  if [[ "${1:-}" == --started-file ]]; then started_file="${2:?--started-file needs a path}"; fi
  mkdir -p "$state"
  echo "$cells" >"$state/cells"
  if wants mysql; then find_mysql; fi
  if wants redis; then
    install_or_die redis-server redis-server "Redis 6+"
    install_or_die redis-cli redis-tools "the Redis command-line client"
  fi
  if wants kafka; then
    install_or_die java openjdk-17-jre-headless "Java 17"
    resolve_kafka
  fi

  # Start everything first and wait afterwards, so the slow starts overlap.
  if wants mysql; then
    for name in $(mysql_names); do write_mysql_config "$name"; done
    local init_pids=()
    for name in $(mysql_names); do init_mysql_datadir "$name" & init_pids+=($!); done
    for n in "${init_pids[@]}"; do wait "$n" || die "a MySQL data directory could not be initialised"; done
    for name in $(mysql_names); do if start_mysql "$name"; then started+=("mysql:$name"); fi; done
  fi
  if wants redis && start_redis; then started+=(redis); fi
  if wants kafka && start_kafka; then started+=(kafka); fi

  if wants mysql; then
    for name in $(mysql_names); do wait_until "$name" mysql_answers "$name"; done
    bootstrap_primary global cellpay_global
    for ((n = 1; n <= cells; n++)); do bootstrap_primary "cell-$n-primary" "cellpay_cell_$n"; done
    for ((n = 1; n <= cells; n++)); do attach_replica "$n"; done
  fi
  if wants redis; then wait_until redis redis_answers; fi
  if wants kafka; then wait_until kafka kafka_answers; fi
  write_endpoints
  if [[ -n "$started_file" && ${#started[@]} -gt 0 ]]; then printf '%s\n' "${started[@]}" >>"$started_file"; fi
  log "up: ${#started[@]} service(s) started, the rest were already running (cells=$cells, state=$state)"
}

cmd_down() {
  local only="" name
  if [[ "${1:-}" == --only-file ]]; then only="${2:?--only-file needs a path}"; fi
  want() { [[ -z "$only" ]] || grep -qxF "$1" "$only" 2>/dev/null; }
  want kafka && stop_pid kafka "$(kafka_dir)/kafka.pid"
  want redis && stop_pid redis "$(redis_dir)/redis.pid"
  # Replicas first, so a primary never waits on a semi-sync ack from a replica that is going away.
  if [[ -d "$state/mysql" ]]; then
    for name in $(ls "$state/mysql" | sort -r); do
      want "mysql:$name" && stop_pid "$name" "$(mysql_dir "$name")/mysqld.pid"
    done
  fi
  return 0
}

cmd_status() {
  local quiet=0 down=0 name line
  [[ "${1:-}" == --quiet ]] && quiet=1
  report() { [[ $quiet == 1 ]] || printf '%-18s %-5s %s\n' "$1" "$2" "$3"; }
  find_mysql >/dev/null 2>&1 || true
  for name in $(wants mysql && mysql_names); do
    if pid_alive "$(mysql_dir "$name")/mysqld.pid" && mysql_answers "$name" >/dev/null 2>&1; then
      line="127.0.0.1:$(mysql_port "$name")"
      if [[ "$name" == *-replica ]]; then
        if replica_connected "$name" >/dev/null 2>&1; then line+=" replicating"; else line+=" NOT replicating"; down=1; fi
      elif [[ "$name" == *-primary ]]; then
        if semi_sync_clients "$name" >/dev/null 2>&1; then line+=" semi-sync on"; else line+=" semi-sync OFF"; down=1; fi
      fi
      report "$name" up "$line"
    else
      report "$name" down ""
      down=1
    fi
  done
  if wants redis; then
    if pid_alive "$(redis_dir)/redis.pid" && redis_answers; then report redis up "127.0.0.1:$redis_port"; else report redis down ""; down=1; fi
  fi
  if wants kafka; then
    if kafka_answers; then report kafka up "127.0.0.1:$kafka_port"; else report kafka down ""; down=1; fi
  fi
  return $down
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  endpoints) cat "$state/endpoints.json" ;;
  *) die "usage: infra.sh up [--started-file F] | down [--only-file F] | status [--quiet] | endpoints" ;;
esac
