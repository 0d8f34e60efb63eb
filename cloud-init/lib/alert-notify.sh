# shellcheck shell=bash
# shellcheck disable=SC2034 # SUBJECT, BODY and DELIVERED are what todo-alert reads back
# todo-alert's notifier: formats a message and hands it to every receiver (sourced by todo-alert).
#
# The webhook (an HTTPS URL in a root-only file: chat-bot webhooks carry their token in the URL)
# gets a JSON POST; ALERT_EMAIL gets a mail through the SMTP relay the API uses (SMTP_URL and
# MAIL_FROM of the app's env file, only those two keys read). Both with curl, bounded by
# ALERT_TIMEOUT_SECONDS per attempt and ALERT_RETRIES retries. Needs: APP_NAME, APP_ENVIRONMENT,
# ENV_FILE, WEBHOOK_FILE, DRY_RUN, log().

# One value of the app's env file, without sourcing it (it holds secrets this script must not see).
env_value() { if [ -r "$ENV_FILE" ]; then sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1; fi; }

# Masks what could be a credential in a line: URL user info, query strings, long tokens.
redact() {
  sed -E -e 's#([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@[:space:]]*@#\1***@#g' \
    -e 's#(https?://[^?[:space:]]*)\?[^[:space:]]*#\1?***#g' \
    -e 's#[A-Za-z0-9+_=-]{32,}#***#g' | cut -c1-300
}

# A URL without its path, query and user info: what a dry run or a log line may show.
url_origin() { printf '%s\n' "$1" | sed -E 's#^([a-z]+://)([^/@]*@)?([^/?]*).*#\1\3#'; }

json_string() { # stdin -> one JSON string
  awk 'BEGIN { ORS = ""; print "\"" }
    { gsub(/\\/, "&&"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, ""); gsub(/[\001-\037]/, " ")
      if (NR > 1) print "\\n"; print }
    END { print "\"" }'
}

# Options curl reads from a file, so that no URL with a token or password is on its command line.
curl_config() { printf 'url = "%s"\n' "$1"; }
CURL_LIMITS=()
set_limits() {
  local timeout=${ALERT_TIMEOUT_SECONDS:-10} retries=${ALERT_RETRIES:-2}
  CURL_LIMITS=(--silent --show-error --connect-timeout 5 --max-time "$timeout" --retry "$retries" --retry-max-time $(((retries + 1) * timeout)))
}

post_webhook() { # URL SUBJECT BODY STATUS CHECK
  local body
  body=$(printf '{"text":%s,"title":%s,"status":"%s","check":"%s","host":%s,"app":"%s","environment":"%s"}' \
    "$(printf '%s\n\n%s' "$2" "$3" | json_string)" "$(printf '%s' "$2" | json_string)" "$4" "$5" \
    "$(hostname | json_string)" "$APP_NAME" "$APP_ENVIRONMENT")
  printf '%s' "$body" | curl "${CURL_LIMITS[@]}" --fail --output /dev/null -K <(curl_config "$1") \
    --header 'Content-Type: application/json' --data-binary @-
}

send_mail() { # SMTP_URL FROM TO SUBJECT BODY
  local tls=()
  # smtp:// must upgrade with STARTTLS or not send at all: an alert may quote the server's state,
  # and the relay's password goes with it (smtps:// is TLS from the first byte anyway).
  case $1 in smtp://*) tls=(--ssl-reqd) ;; esac
  {
    printf 'From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@%s>\n' "$2" "$3" "$4" "$(date -R)" "$(date +%s%N)" "$$" "$(hostname)"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n' "$5"
  } | curl "${CURL_LIMITS[@]}" "${tls[@]}" -K <(curl_config "$1") --mail-from "$2" --mail-rcpt "$3" --crlf --upload-file -
}

# Sends SUBJECT/BODY to every receiver; succeeds when at least one accepted it (DELIVERED=1), or
# when there is none to try (the journal then has it; it does not count against the budgets).
DELIVERED=""
deliver() { # STATUS CHECK SUBJECT BODY
  local status=$1 check=$2 subject=$3 body=$4 webhook="" smtp from delivered="" tried="" why
  DELIVERED=""
  [ -r "$WEBHOOK_FILE" ] && webhook=$(head -n1 "$WEBHOOK_FILE")
  smtp=$(env_value SMTP_URL)
  from=$(env_value MAIL_FROM)
  set_limits
  if [ -n "$DRY_RUN" ]; then
    [ -n "$webhook" ] && printf 'would POST to webhook %s/… (URL redacted)\n' "$(url_origin "$webhook")"
    if [ -n "${ALERT_EMAIL:-}" ] && [ -n "$smtp" ] && [ -n "$from" ]; then
      printf 'would mail %s from %s through %s\n' "$ALERT_EMAIL" "$from" "$(url_origin "$smtp")"
    fi
    [ -n "$webhook" ] || { [ -n "${ALERT_EMAIL:-}" ] && [ -n "$smtp" ]; } || printf 'no receiver is configured: only the journal would have it\n'
    printf -- '--- %s\n%s\n---\n' "$subject" "$body"
    return 0
  fi
  if [ -n "$webhook" ]; then
    tried=1
    # curl's own message says why (a status, a timeout); masked like everything else that is logged
    if why=$(post_webhook "$webhook" "$subject" "$body" "$status" "$check" 2>&1); then delivered=1; else
      log "the webhook $(url_origin "$webhook")/… did not accept the message ($(printf '%s' "$why" | tail -n1 | redact))"
    fi
  fi
  if [ -n "${ALERT_EMAIL:-}" ]; then
    if [ -z "$smtp" ] || [ -z "$from" ]; then
      log "ALERT_EMAIL is set but the app has no SMTP_URL/MAIL_FROM (the stack's mail settings): no mail"
    else
      tried=1
      if why=$(send_mail "$smtp" "$from" "$ALERT_EMAIL" "$subject" "$body" 2>&1); then delivered=1; else
        log "the SMTP relay $(url_origin "$smtp") did not take the mail to $ALERT_EMAIL ($(printf '%s' "$why" | tail -n1 | redact))"
      fi
    fi
  fi
  [ -n "$tried" ] || log "no receiver is configured; the message is only in this journal: $subject"
  DELIVERED=$delivered
  [ -n "$delivered" ] || [ -z "$tried" ]
}

# SUBJECT and BODY of an alert or a recovery notice.
SUBJECT=""
BODY=""
message() { # ALERT|RECOVERED CHECK SINCE SUMMARY DETAIL
  local host
  host=$(hostname)
  SUBJECT="[$APP_NAME $APP_ENVIRONMENT] $1 $2: $4"
  BODY=$(
    printf 'Server: %s (%s, environment %s)\nCheck: %s\n' "$host" "$APP_NAME" "$APP_ENVIRONMENT" "$2"
    if [ "$1" = ALERT ]; then
      printf 'Failing since: %s\nWhat: %s\n' "$(iso "$3")" "$4"
      [ -z "$5" ] || printf '\n%s\n' "$5"
      printf '\nOne alert per incident: the next message about "%s" is its recovery.\n' "$2"
    else
      printf 'Failing from %s to %s: %s\nRecovered.\n' "$(iso "$3")" "$(iso "$(now)")" "$4"
    fi
  )
}
