# shellcheck shell=bash
# todo-alert's checks (sourced by todo-alert): each ends in failing CHECK … or passing CHECK.
# Needs the settings of todo-alert (APP_NAME, SYSTEMCTL, JOURNALCTL, the paths and thresholds)
# and alert-incidents.sh.

unit_check() { # UNIT -> check name: todo-api-backup.service -> backup
  local name=${1%.service}
  name=${name#"$APP_NAME"-}
  printf '%s' "${name//[^A-Za-z0-9_.@-]/_}"
}

# Lines this project's scripts wrote during the unit's last run (they never log secrets), masked anyway.
unit_detail() {
  local id
  id=$("$SYSTEMCTL" show --property=InvocationID --value "$1" 2>/dev/null || true)
  [ -n "$id" ] || return 0
  "$JOURNALCTL" --quiet --no-pager --output=cat "_SYSTEMD_INVOCATION_ID=$id" 2>/dev/null |
    grep -E '^(todo|reload)-[a-z-]+: ' | tail -n 8 | redact || true
}

# A unit failed: its incident stays open while it stays failed.
unit_failed() { # UNIT
  local unit=$1 check result
  check=$(unit_check "$unit")
  if [ -z "$(state_get "$check" unit)" ]; then state_set "$check" unit "$unit"; fi
  result=$("$SYSTEMCTL" show --property=Result --value "$unit" 2>/dev/null || true)
  failing "$check" "$unit failed (${result:-unknown result})" \
    "$(unit_detail "$unit"; printf 'Look: journalctl -u %s -n 50' "$unit")"
}

check_readyz() {
  [ -e "$APP_ROOT/current" ] || { passing readyz; return 0; }
  if "$SYSTEMCTL" is-failed --quiet "$APP_NAME-health.service"; then
    local last="" since
    [ -e "$HEALTH_MARKER" ] && last=$(stat -c %Y "$HEALTH_MARKER")
    since=$(state_get readyz since)
    # It answered after this streak of failures began: a new streak, counted from that answer.
    if [ -n "$last" ] && [ -n "$since" ] && [ "$last" -gt "$since" ] && [ -z "$(state_get readyz alerted)" ]; then
      state_set readyz since "$last"
    fi
    failing readyz "the API does not answer /readyz through Nginx" \
      "$(printf 'Last good answer: %s\nLook: journalctl -u %s-health -n 20' "$([ -n "$last" ] && iso "$last" || echo unknown)" "$APP_NAME")" \
      "${ALERT_READYZ_AFTER_SECONDS:-180}" "$last"
  else
    passing readyz
  fi
}

check_certificate() {
  local cert=$LIVE_DIR/${DOMAIN:-}/fullchain.pem end days=${ALERT_CERT_DAYS:-14}
  if [ -z "${DOMAIN:-}" ] || [ ! -s "$cert" ]; then passing certificate-expiry; return 0; fi
  if openssl x509 -checkend $((days * 86400)) -noout -in "$cert" >/dev/null; then
    passing certificate-expiry
  else
    end=$(openssl x509 -enddate -noout -in "$cert" | sed 's/^notAfter=//')
    failing certificate-expiry "the certificate of $DOMAIN expires within $days days ($end)" \
      "Renewal is certbot's timer: systemctl status certbot.timer; journalctl -u certbot -n 50 (runbook: docs/operations.md)"
  fi
}

# Above ALERT_DISK_PERCENT opens the incident; it closes only below ALERT_DISK_PERCENT minus
# ALERT_DISK_HYSTERESIS, so a disk hovering at the limit is one incident, not one an hour.
check_disks() {
  local paths=${ALERT_DISK_PATHS:-} limit=${ALERT_DISK_PERCENT:-85} band=${ALERT_DISK_HYSTERESIS:-5}
  if [ -z "$paths" ]; then
    paths=/
    [ "$DB_MODE" != local ] || paths="/ /var/lib/postgresql"
  fi
  local path seen=" " mount used name
  for path in $paths; do
    [ -e "$path" ] || continue
    mount=$(df --output=target "$path" | tail -n1)
    case $seen in *" $mount "*) continue ;; esac # one check per filesystem
    seen="$seen$mount "
    used=$(df --output=pcent "$path" | tail -n1 | tr -dc 0-9)
    name=disk-$(printf '%s' "$mount" | tr -c 'A-Za-z0-9\n' '-' | sed 's/^-*//; s/-*$//')
    [ "$name" != disk- ] || name=disk-root
    if [ "$used" -gt "$limit" ] || { has_incident "$name" && [ "$used" -gt $((limit - band)) ]; }; then
      failing "$name" "the filesystem at $mount is $used % full (alert above $limit %)" \
        "Largest directories: du -xh --max-depth=2 $mount | sort -h | tail (runbook: docs/operations.md, a full disk)"
    else
      passing "$name"
    fi
  done
}

check_backup_age() {
  [ "$DB_MODE" = local ] || [ -n "${OFFSITE_BUCKET:-}" ] || return 0
  [ -e "$APP_ROOT/current" ] || return 0 # no backups before the first release
  local newest age hours=${ALERT_BACKUP_MAX_AGE_HOURS:-26}
  newest=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name '*.dump' -printf '%T@\n' 2>/dev/null | sort -n | tail -n1 || true)
  newest=${newest%.*}
  if [ -z "$newest" ]; then
    # A new server has none until its first night: count from the first release instead.
    newest=$(stat -L -c %Y "$APP_ROOT/current")
  fi
  age=$(($(now) - newest))
  if [ "$age" -gt $((hours * 3600)) ]; then
    failing backup-age "the newest local backup is $((age / 3600)) hours old (alert after $hours)" \
      "Look: ls -l $BACKUP_DIR; systemctl list-timers $APP_NAME-backup.timer; journalctl -u $APP_NAME-backup -n 50"
  else
    passing backup-age
  fi
}

# Failed units: those with an incident, a failure todo-alert could not record in time (a pending
# mark), and any of the app's units systemd lists as failed now, so a lost OnFailure= run (a
# killed handler, a full disk) is alerted at the next check. Health is readyz's; the alert units'
# own failures would alert about themselves.
check_units() {
  local check unit units
  units=$(
    for check in $(incidents); do state_get "$check" unit; done
    cat "$STATE_DIR"/.pending-* "$OVERFLOW_DIR"/.pending-* 2>/dev/null || true
    "$SYSTEMCTL" list-units --failed --plain --no-legend --type=service "$APP_NAME-*" "$APP_NAME@*" 2>/dev/null | awk '{ print $1 }' || true
  )
  for unit in $(printf '%s\n' "$units" | sed '/^$/d' | sort -u); do
    case $unit in "$APP_NAME-health.service" | "$APP_NAME-alert@"*) continue ;; esac
    if "$SYSTEMCTL" is-failed --quiet "$unit"; then unit_failed "$unit"; else passing "$(unit_check "$unit")"; fi
    forget ".pending-$(unit_check "$unit")"
  done
}

# An instance that keeps restarting (Restart=always hides it: Nginx sends its requests to the
# others, so /readyz still answers): ALERT_CRASH_RESTARTS restarts or more within
# ALERT_CRASH_WINDOW_SECONDS, counted from systemd's NRestarts at each check.
check_instances() {
  local port unit n samples first window=${ALERT_CRASH_WINDOW_SECONDS:-900} limit=${ALERT_CRASH_RESTARTS:-3}
  for port in ${APP_PORTS:-}; do
    unit=$APP_NAME@$port.service
    n=$("$SYSTEMCTL" show --property=NRestarts --value "$unit" 2>/dev/null || true)
    case $n in '' | *[!0-9]*) continue ;; esac
    samples=$(fetch ".restarts-$port" | awk -v c=$(($(now) - window)) -v n="$n" '$1 >= c && $2 <= n')
    samples=$(printf '%s\n%s %s' "$samples" "$(now)" "$n" | sed '/^$/d')
    store ".restarts-$port" "$samples"
    first=$(printf '%s\n' "$samples" | head -n1 | cut -d' ' -f2)
    if [ $((n - first)) -ge "$limit" ]; then
      failing "instance-$port" "$unit restarted $((n - first)) times in the last $((window / 60)) minutes" \
        "$(printf 'It keeps failing while the others serve.\nLook: journalctl -u %s -n 50; todo-release status' "$unit")"
    else
      passing "instance-$port"
    fi
  done
}

# Unattended upgrades installed something that needs a reboot (a kernel, libc): reboots stay
# manual, so say so once it has waited ALERT_REBOOT_AFTER_HOURS.
check_reboot() {
  local since
  if [ ! -e "$REBOOT_REQUIRED" ]; then passing reboot-required; return 0; fi
  since=$(stat -c %Y "$REBOOT_REQUIRED")
  failing reboot-required "a reboot is pending since $(iso "$since") (security updates installed)" \
    "$(printf 'Packages: %s\nReboot when convenient: sudo systemctl reboot (the app comes back by itself)' \
      "$(tr '\n' ' ' <"$REBOOT_REQUIRED.pkgs" 2>/dev/null || echo unknown)")" \
    $((${ALERT_REBOOT_AFTER_HOURS:-24} * 3600)) "$since"
}

# The checker's last completed run is older than ALERT_HEARTBEAT_MAX_AGE_SECONDS (a stopped
# timer, a checker that hangs or dies): run by the watchdog timer, not by the checker itself.
check_heartbeat() {
  local last max=${ALERT_HEARTBEAT_MAX_AGE_SECONDS:-1200}
  last=$(fetch .heartbeat)
  if [ -z "$last" ]; then
    last=$(fetch .watchdog-first)
    [ -n "$last" ] || { last=$(now); store .watchdog-first "$last"; }
  fi
  if [ $(($(now) - last)) -gt "$max" ]; then
    failing alert-checker "the alert checker has not completed a run since $(iso "$last")" \
      "No check (disk, backups, certificate, instances) is running. Look: systemctl status $APP_NAME-alert-check.timer $APP_NAME-alert-check.service; journalctl -u $APP_NAME-alert-check -n 50"
  else
    passing alert-checker
  fi
}
