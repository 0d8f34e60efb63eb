# shellcheck shell=bash
# common.sh — the setup every server script shares, sourced as the first thing each one does:
#
#   for TODO_COMMON in ${TODO_COMMON:+"$TODO_COMMON"} "${0%/*}/../lib/common.sh" /usr/local/lib/todo/common.sh; do [ -r "$TODO_COMMON" ] && break; done
#   # shellcheck source=cloud-init/lib/common.sh
#   . "$TODO_COMMON"
#
# TODO_COMMON, when set, names another copy (tests run the scripts from temporary directories).
# The next path is the copy next to the script (this repository's cloud-init/, a release's server/
# kit); the second the copy the kit installs for the scripts in /usr/local/sbin. cloud-init writes
# it beside todo-bootstrap at first boot, so every script finds it from the first second on.
#
# What it gives them:
#   - strict mode (errexit, nounset, pipefail) and a umask of 022;
#   - one log format on one stream: "<script>: <message>" on stderr (which systemd puts in the
#     journal under the unit), "<script>: warning: …" and "<script>: error: …"; when the script runs
#     outside systemd (by hand, over SSH from a deploy) each line also goes to the journal with the
#     script's name as its identifier, so `journalctl -t todo-release` shows every run;
#   - die, retry, a lock helper and the host settings (/etc/todo-host.conf).
# Stdout stays for what a command prints as its result (todo-release status, a downloaded path).
set -euo pipefail
umask 022

TODO_TOOL=${TODO_TOOL:-${0##*/}}
HOST_CONF=${TODO_HOST_CONF:-/etc/todo-host.conf}

# Copies log lines to the journal when systemd does not already (JOURNAL_STREAM is set for a unit's
# stdout/stderr). TODO_LOG_JOURNAL=0 turns the copy off (tests).
if [ -z "${JOURNAL_STREAM:-}" ] && [ "${TODO_LOG_JOURNAL:-1}" != 0 ] && [ -S /dev/log ] && command -v logger >/dev/null 2>&1; then
  TODO_LOG_COPY=1
else
  TODO_LOG_COPY=
fi

log() {
  printf '%s: %s\n' "$TODO_TOOL" "$*" >&2
  if [ -n "$TODO_LOG_COPY" ]; then logger -t "$TODO_TOOL" -- "$*" 2>/dev/null || true; fi
}
warn() { log "warning: $*"; }
die() { # MESSAGE [EXIT CODE]
  log "error: $1"
  exit "${2:-1}"
}

# retry ATTEMPTS DELAY_SECONDS COMMAND... — runs COMMAND until it succeeds, waiting DELAY, 2×DELAY,
# … between attempts; returns the last attempt's status.
retry() {
  local attempts=$1 delay=$2 i rc=0
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    rc=0
    "$@" && return 0 || rc=$?
    [ "$i" -lt "$attempts" ] || break
    log "'$1' failed (exit $rc, attempt $i of $attempts); retrying in $((delay * i)) s"
    sleep $((delay * i))
  done
  return "$rc"
}

# with_lock FILE WAIT_SECONDS WHAT — holds an exclusive lock on FILE (fd 9) for the rest of the
# script; after WAIT seconds it gives up with "WHAT is still running". Taken once per process tree:
# a script this one runs inherits the lock (TODO_LOCKED names the file already held).
with_lock() {
  local file=$1 wait=$2 what=$3
  [ "${TODO_LOCKED:-}" != "$file" ] || return 0
  mkdir -p "$(dirname "$file")"
  exec 9>"$file"
  flock -w "$wait" 9 || die "$what is still running (lock $file)"
  export TODO_LOCKED=$file
}

# load_host_conf required|optional — reads the host settings; "optional" tolerates their absence
# (todo-release on a tree that is not a server).
load_host_conf() {
  if [ -r "$HOST_CONF" ]; then
    # shellcheck source=/dev/null
    . "$HOST_CONF"
  elif [ "$1" != optional ]; then
    die "$HOST_CONF is missing: this host was not set up by this stack"
  fi
}

# Bytes available to an unprivileged user on the filesystem holding PATH.
free_bytes() { df --output=avail -B1 "$1" | tail -n1 | tr -d ' '; }
