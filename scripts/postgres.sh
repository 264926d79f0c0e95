#!/usr/bin/env bash
# postgres.sh makes a local PostgreSQL 15 cluster ready for ContainerPub on a
# Debian machine: it installs the server when missing, creates and starts the
# cluster as the postgres user, and creates the containerpub role and
# database. It is safe to run again at any time. Everything it says goes to
# stderr; the last line of stdout is the database URL, so callers can write
#
#	CONTAINERPUB_TEST_POSTGRES_URL=$(scripts/postgres.sh | tail -n1)
set -euo pipefail

version=15
cluster=main
role=containerpub
password=containerpub
database=containerpub
bindir=/usr/lib/postgresql/$version/bin

log() { echo "postgres.sh: $*" >&2; }

# as_postgres runs a command as the cluster owner. PostgreSQL refuses to run
# as root, and pg_ctlcluster run by root would hand over to systemd when it
# is PID 1, which a container or CI machine may not have.
as_postgres() {
	(cd / && runuser -u postgres -- "$@")
}

install_server() {
	if [[ -x $bindir/postgres ]]; then
		return
	fi
	log "installing postgresql"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
}

cluster_field() {
	pg_lsclusters -h | awk -v v="$version" -v c="$cluster" -v f="$1" \
		'$1 == v && $2 == c { print $f }'
}

start_cluster() {
	if [[ -z $(cluster_field 2) ]]; then
		log "creating cluster $version/$cluster"
		pg_createcluster "$version" "$cluster" >&2
	fi
	# /run is a tmpfs on many machines, so the socket directory may be gone.
	install -d -o postgres -g postgres -m 2775 /var/run/postgresql
	if [[ $(cluster_field 4) != online ]]; then
		log "starting cluster $version/$cluster"
		as_postgres pg_ctlcluster "$version" "$cluster" start >&2
	fi
}

wait_ready() {
	for _ in $(seq 1 60); do
		if pg_isready -q -h 127.0.0.1 -p "$port"; then
			return
		fi
		sleep 0.5
	done
	log "cluster did not accept connections on port $port within 30s"
	exit 1
}

psql_admin() {
	as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAtX "$@"
}

create_role_and_database() {
	if [[ -z $(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'") ]]; then
		log "creating role $role"
		psql_admin -c "CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'" >&2
	else
		# Keep a role left from an earlier run usable by the tests.
		psql_admin -c "ALTER ROLE $role LOGIN CREATEDB PASSWORD '$password'" >&2
	fi
	if [[ -z $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$database'") ]]; then
		log "creating database $database"
		psql_admin -c "CREATE DATABASE $database OWNER $role" >&2
	fi
}

install_server
start_cluster
# The port the cluster listens on, 5432 unless its configuration says else.
port=$(cluster_field 3)
wait_ready
create_role_and_database
echo "postgres://$role:$password@127.0.0.1:$port/$database?sslmode=disable"
