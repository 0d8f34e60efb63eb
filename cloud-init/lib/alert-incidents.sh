# shellcheck shell=bash
# todo-alert's incidents: their state files, the sending budgets, and the alert/recovery decision
# (sourced by todo-alert). Needs: STATE_DIR, OVERFLOW_DIR, log(), now(), iso(), message(), deliver().
#
# Each check is one incident: a file named for it in STATE_DIR (/var/lib/todo-alert). The first
# failure opens it, the alert goes out once (after the check's delay), and one recovery notice
# follows when the check passes again.
#
# A full disk must not stop delivery: when a write to STATE_DIR fails, the state goes to
# OVERFLOW_DIR (/run/todo-alert, a tmpfs) and is read from there first until a write to STATE_DIR
# succeeds again. If neither can be written, the message still goes out (it may then be repeated).
#
# Budgets, per check: at most ALERT_MAX_PER_CHECK_PER_HOUR messages of one check in the last hour,
# and at most ALERT_MAX_PER_HOUR in all, except that a check that sent nothing in the last hour
# always gets its message out: a flapping check exhausts its own budget, never another's alert.

# Atomic write of TEXT to FILE; fails (leaving nothing behind) when the filesystem is full.
write_file() { # FILE TEXT
  if { printf '%s\n' "$2" >"$1.new" && mv -f "$1.new" "$1"; } 2>/dev/null; then return 0; fi
  rm -f "$1.new" 2>/dev/null || true
  return 1
}

# Writes NAME in STATE_DIR, or in OVERFLOW_DIR when STATE_DIR is full; says so once per run.
OVERFLOW_SAID=""
store() { # NAME TEXT
  if write_file "$STATE_DIR/$1" "$2"; then
    rm -f "$OVERFLOW_DIR/$1" 2>/dev/null || true
    return 0
  fi
  if install -d -m 0700 "$OVERFLOW_DIR" 2>/dev/null && write_file "$OVERFLOW_DIR/$1" "$2"; then
    [ -n "$OVERFLOW_SAID" ] || log "cannot write $STATE_DIR (full?): state kept in $OVERFLOW_DIR until it can"
    OVERFLOW_SAID=1
    return 0
  fi
  log "cannot record $1 in $STATE_DIR or $OVERFLOW_DIR: delivery goes on without it"
}

# The file holding NAME now: the overflow copy while there is one.
stored() { if [ -f "$OVERFLOW_DIR/$1" ]; then printf '%s/%s' "$OVERFLOW_DIR" "$1"; else printf '%s/%s' "$STATE_DIR" "$1"; fi; }
fetch() { local f; f=$(stored "$1"); if [ -f "$f" ]; then cat "$f"; fi; }
forget() { rm -f "$STATE_DIR/$1" "$OVERFLOW_DIR/$1" 2>/dev/null || true; }
has_incident() { [ -f "$(stored "$1")" ]; }

state_get() { fetch "$1" | sed -n "s/^$2=//p" | tail -n1; }
state_set() { # CHECK KEY VALUE
  store "$1" "$({ fetch "$1" | grep -v "^$2=" || true; } && printf '%s=%s' "$2" "$3")"
}

# The open incidents' names (auxiliary files start with a dot).
incidents() {
  local f
  for f in "$STATE_DIR"/* "$OVERFLOW_DIR"/*; do
    [ -f "$f" ] || continue
    case ${f##*/} in sent.log | *.new) continue ;; esac
    printf '%s\n' "${f##*/}"
  done | sort -u
}

# The messages sent in the last hour: "TIME CHECK KIND" lines, from both places.
sent_last_hour() {
  local cutoff
  cutoff=$(($(now) - 3600))
  cat "$STATE_DIR/sent.log" "$OVERFLOW_DIR/sent.log" 2>/dev/null | awk -v c="$cutoff" '$1 > c' || true
}
record_sent() { # CHECK KIND
  local line recent
  line="$(now) $1 $2"
  recent=$(sent_last_hour)
  # Rewritten rather than appended: the log keeps one hour, and a full disk falls back to OVERFLOW_DIR.
  store sent.log "$(printf '%s\n%s' "$recent" "$line" | sed '/^$/d')"
}

# Whether CHECK may send a message now; says why not.
budget_left() { # CHECK
  local recent mine all per_check=${ALERT_MAX_PER_CHECK_PER_HOUR:-4} total=${ALERT_MAX_PER_HOUR:-12}
  recent=$(sent_last_hour)
  mine=$(printf '%s\n' "$recent" | awk -v k="$1" '$2 == k' | grep -c . || true)
  all=$(printf '%s\n' "$recent" | grep -c . || true)
  if [ "$mine" -eq 0 ]; then return 0; fi
  if [ "$mine" -ge "$per_check" ]; then
    BUDGET_WHY="$1 sent $mine messages in the last hour (ALERT_MAX_PER_CHECK_PER_HOUR)"
    return 1
  fi
  if [ "$all" -ge "$total" ]; then
    BUDGET_WHY="$all messages in the last hour (ALERT_MAX_PER_HOUR)"
    return 1
  fi
}

# The check fails now. Opens the incident (at the first failure) and alerts when it has lasted DELAY seconds.
failing() { # CHECK SUMMARY DETAIL [DELAY [SINCE]]
  local check=$1 summary=$2 detail=$3 delay=${4:-0} since
  since=$(state_get "$check" since)
  if [ -z "$since" ]; then
    since=${5:-$(now)}
    state_set "$check" since "$since"
  fi
  state_set "$check" summary "$summary"
  [ -z "$(state_get "$check" alerted)" ] || return 0 # one alert per incident
  if [ $(($(now) - since)) -lt "$delay" ]; then
    log "$check failing since $(iso "$since"); alert after ${delay}s"
    return 0
  fi
  if ! budget_left "$check"; then
    log "$check: $summary — not sent: $BUDGET_WHY; tried again at the next check"
    return 0
  fi
  message ALERT "$check" "$since" "$summary" "$detail"
  log "alert $check: $summary"
  if deliver alert "$check" "$SUBJECT" "$BODY"; then
    state_set "$check" alerted "$(now)"
    [ -z "$DELIVERED" ] || record_sent "$check" alert
  fi
}

# The check passes now. Closes its incident; a recovery notice only for an incident that alerted.
passing() { # CHECK
  local check=$1 since summary
  has_incident "$check" || return 0
  since=$(state_get "$check" since)
  summary=$(state_get "$check" summary)
  if [ -n "$(state_get "$check" alerted)" ]; then
    if ! budget_left "$check"; then
      log "$check recovered — notice held back: $BUDGET_WHY; sent at the next check"
      return 0
    fi
    message RECOVERED "$check" "$since" "$summary" ""
    log "recovered $check"
    deliver recovery "$check" "$SUBJECT" "$BODY" || return 0
    [ -z "$DELIVERED" ] || record_sent "$check" recovery
  fi
  forget "$check"
}
