#!/usr/bin/env bash
# The add-on's main process: a headless Chromium whose DevTools endpoint listens on the container's
# loopback only, and the gateway that publishes it to Home Assistant alone (devtools_gateway.py).
#
# Settings come from the Supervisor's /data/options.json (see config.yaml). The environment may
# override paths and ports, which is how tests run this script outside a container:
#   CHROMIUM       the browser (default: chromium-browser or chromium on PATH)
#   DATA_DIR       persistent data; the profile is DATA_DIR/chromium (default /data)
#   OPTIONS_FILE   the add-on options (default DATA_DIR/options.json)
#   DEVTOOLS_PORT  Chromium's DevTools port on 127.0.0.1 (default 9223)
#   GATEWAY_PORT   the gateway's port on every interface of the container (default 9222)
#   GATEWAY, PYTHON  the gateway script and its interpreter
# SIGTERM or SIGINT stop both processes; the script exits when either of them exits.
set -euo pipefail

DATA_DIR="${DATA_DIR:-/data}"
OPTIONS_FILE="${OPTIONS_FILE:-$DATA_DIR/options.json}"
DEVTOOLS_PORT="${DEVTOOLS_PORT:-9223}"
GATEWAY_PORT="${GATEWAY_PORT:-9222}"
GATEWAY="${GATEWAY:-$(dirname "$0")/devtools_gateway.py}"
PYTHON="${PYTHON:-python3}"
PROFILE_DIR="$DATA_DIR/chromium"

log() { printf '[whatsapp-web-browser] %s\n' "$*" >&2; }

option() {
    # option NAME DEFAULT_JSON: a value of options.json as JSON (the default when absent).
    if [ -f "$OPTIONS_FILE" ]; then
        jq -c --argjson default "$2" ".$1 // \$default" "$OPTIONS_FILE"
    else
        printf '%s\n' "$2"
    fi
}

find_chromium() {
    if [ -n "${CHROMIUM:-}" ]; then
        printf '%s\n' "$CHROMIUM"
        return
    fi
    local name
    for name in chromium-browser chromium; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return
        fi
    done
    log "no Chromium found"
    exit 1
}

chromium_flags() {
    # The command line, one flag per line; every flag is here for a reason.
    local -a flags=(
        --headless
        # The DevTools endpoint, on loopback only: the gateway is the only way in.
        --remote-debugging-address=127.0.0.1
        "--remote-debugging-port=$DEVTOOLS_PORT"
        # The linked WhatsApp session survives restarts and updates of the add-on.
        "--user-data-dir=$PROFILE_DIR"
        # Containers run as root without user namespaces: Chromium's sandbox cannot start.
        --no-sandbox
        # Docker gives /dev/shm 64 MiB; Chromium crashes on large pages without this.
        --disable-dev-shm-usage
        --disable-gpu
        --no-first-run
        --no-default-browser-check
        --disable-sync
        --disable-component-update
        --disable-default-apps
        --disable-extensions
        # WhatsApp Web must keep running although nobody looks at the page.
        --disable-background-timer-throttling
        --disable-backgrounding-occluded-windows
        --disable-renderer-backgrounding
        --lang=en-US
        # One tab: a small renderer limit and V8 heap keep memory low.
        --renderer-process-limit=2
        --js-flags=--max-old-space-size=512
    )
    printf '%s\n' "${flags[@]}"
    option extra_flags '[]' | jq -r '.[]'
    printf '%s\n' about:blank
}

main() {
    local chromium
    chromium="$(find_chromium)"
    mkdir -p "$PROFILE_DIR"
    # A container that was killed leaves Chromium's profile lock behind, naming a host that no
    # longer exists; Chromium would then refuse the profile. Only this add-on uses it.
    rm -f "$PROFILE_DIR/SingletonLock" "$PROFILE_DIR/SingletonSocket" "$PROFILE_DIR/SingletonCookie"

    local -a flags
    mapfile -t flags < <(chromium_flags)
    log "starting $chromium with DevTools on 127.0.0.1:$DEVTOOLS_PORT"
    if [ "${PRINT_COMMAND:-}" = 1 ]; then
        printf '%s\n' "$chromium" "${flags[@]}"
        return
    fi
    "$chromium" "${flags[@]}" &
    local chromium_pid=$!

    local allowed token log_level
    allowed="$(option allowed_hosts '["homeassistant"]' | jq -r 'join(",")')"
    token="$(option token '""' | jq -r '.')"
    log_level="$(option log_level '"warning"' | jq -r '.')"
    GATEWAY_TOKEN="$token" "$PYTHON" "$GATEWAY" \
        --listen "0.0.0.0:$GATEWAY_PORT" \
        --upstream "127.0.0.1:$DEVTOOLS_PORT" \
        --allow "$allowed" \
        --log-level "$log_level" &
    local gateway_pid=$!

    local stopping=0
    stop() {
        kill -TERM "$gateway_pid" "$chromium_pid" 2>/dev/null || true
    }
    trap 'stopping=1; stop' TERM INT
    # Whichever exits first (a crash, or the signal) ends the add-on; the Supervisor restarts it.
    local status=0
    wait -n "$chromium_pid" "$gateway_pid" || status=$?
    stop
    wait "$chromium_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
    if [ "$stopping" = 1 ]; then
        status=0
    fi
    log "stopped"
    exit "$status"
}

main "$@"
