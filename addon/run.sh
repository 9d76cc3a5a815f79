#!/usr/bin/env bash
# The add-on's main process: a headless Chromium whose DevTools endpoint listens on the container's
# loopback only, and the gateway that publishes it to Home Assistant alone (devtools_gateway.py).
#
# Settings come from the Supervisor's /data/options.json (see config.yaml). The environment may
# override paths and ports, which is how tests run this script outside a container:
#   CHROMIUM       the browser (default: chromium-browser or chromium on PATH)
#   CHROMIUM_USER  the unprivileged user Chromium runs as when this script runs as root (default
#                  chromium, made by the Dockerfile)
#   DATA_DIR       persistent data; the profile is DATA_DIR/chromium (default /data)
#   OPTIONS_FILE   the add-on options (default DATA_DIR/options.json)
#   DEVTOOLS_PORT  Chromium's DevTools port on 127.0.0.1 (default 9223)
#   GATEWAY_PORT   the gateway's port on every interface of the container (default 9222)
#   GATEWAY, PYTHON  the gateway script and its interpreter
#   PAGE_URL       the page the integration opens; the gateway lets tabs open only its origin
#   SUPERVISOR_URL where the gateway announces itself when SUPERVISOR_TOKEN is set
# The gateway's token is made on the first start and kept in DATA_DIR/devtools_token (mode 0600,
# owned by root: Chromium's user cannot read it).
# SIGTERM or SIGINT stop both processes; the script exits when either of them exits.
set -euo pipefail

DATA_DIR="${DATA_DIR:-/data}"
OPTIONS_FILE="${OPTIONS_FILE:-$DATA_DIR/options.json}"
DEVTOOLS_PORT="${DEVTOOLS_PORT:-9223}"
GATEWAY_PORT="${GATEWAY_PORT:-9222}"
GATEWAY="${GATEWAY:-$(dirname "$0")/devtools_gateway.py}"
PYTHON="${PYTHON:-python3}"
PROFILE_DIR="$DATA_DIR/chromium"
# Chromium writes caches and its crash database under $HOME.
BROWSER_HOME="$DATA_DIR/home"
CHROMIUM_USER="${CHROMIUM_USER:-chromium}"
TOKEN_FILE="$DATA_DIR/devtools_token"
PAGE_URL="${PAGE_URL:-https://web.whatsapp.com/}"
SUPERVISOR_URL="${SUPERVISOR_URL:-http://supervisor}"
# The command prefix that runs Chromium as CHROMIUM_USER (empty: as this script's user).
RUN_AS=()
# Whether Chromium runs without its sandbox, and why.
NO_SANDBOX_REASON=""

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

check_extra_flags() {
    # A second DevTools endpoint would bypass the gateway (its token and its command filter).
    local flag
    while IFS= read -r flag; do
        case "$flag" in
            --remote-debugging-*)
                log "refusing extra flag $flag: the DevTools endpoint is the gateway's alone"
                exit 1
                ;;
        esac
    done < <(option extra_flags '[]' | jq -r '.[]')
}

choose_browser_user() {
    # Chromium never runs as root when it can be avoided: as root its sandbox cannot start at all.
    if [ "$(id -u)" != 0 ]; then
        return
    fi
    if ! id -u "$CHROMIUM_USER" >/dev/null 2>&1; then
        NO_SANDBOX_REASON="there is no user $CHROMIUM_USER to run it as, so it runs as root"
        return
    fi
    local uid gid
    uid="$(id -u "$CHROMIUM_USER")"
    gid="$(id -g "$CHROMIUM_USER")"
    mkdir -p "$PROFILE_DIR" "$BROWSER_HOME"
    # The user must reach its profile through /data, without reading the rest of it.
    chmod o+x "$DATA_DIR"
    chown -R "$uid:$gid" "$PROFILE_DIR" "$BROWSER_HOME"
    RUN_AS=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups --)
}

sandbox_works() {
    # Chromium's sandbox needs user namespaces; a container's seccomp profile may forbid them.
    # The only reliable test is Chromium itself: load a blank page with the sandbox on.
    local probe status=0
    probe="$(mktemp -d)"
    if [ "${#RUN_AS[@]}" -gt 0 ]; then
        chown "$(id -u "$CHROMIUM_USER"):$(id -g "$CHROMIUM_USER")" "$probe"
    fi
    HOME="$BROWSER_HOME" timeout 60 "${RUN_AS[@]}" "$1" --headless --disable-gpu --no-first-run \
        "--user-data-dir=$probe" --dump-dom about:blank >/dev/null 2>&1 || status=$?
    rm -rf "$probe"
    return "$status"
}

choose_sandbox() {
    if [ -z "$NO_SANDBOX_REASON" ] && [ "$(id -u)" = 0 ] && [ "${#RUN_AS[@]}" -eq 0 ]; then
        NO_SANDBOX_REASON="it runs as root"
    fi
    if [ -z "$NO_SANDBOX_REASON" ] && ! sandbox_works "$1"; then
        NO_SANDBOX_REASON="this system does not let it create user namespaces"
    fi
    if [ -n "$NO_SANDBOX_REASON" ]; then
        log "WARNING: Chromium runs without its sandbox: $NO_SANDBOX_REASON"
    fi
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
    if [ -n "$NO_SANDBOX_REASON" ]; then
        flags+=(--no-sandbox)
    fi
    printf '%s\n' "${flags[@]}"
    option extra_flags '[]' | jq -r '.[]'
    printf '%s\n' about:blank
}

main() {
    local chromium
    check_extra_flags
    chromium="$(find_chromium)"
    mkdir -p "$PROFILE_DIR" "$BROWSER_HOME"
    choose_browser_user
    choose_sandbox "$chromium"
    # A container that was killed leaves Chromium's profile lock behind, naming a host that no
    # longer exists; Chromium would then refuse the profile. Only this add-on uses it.
    rm -f "$PROFILE_DIR/SingletonLock" "$PROFILE_DIR/SingletonSocket" "$PROFILE_DIR/SingletonCookie"

    local -a flags
    mapfile -t flags < <(chromium_flags)
    log "starting $chromium with DevTools on 127.0.0.1:$DEVTOOLS_PORT"
    if [ "${PRINT_COMMAND:-}" = 1 ]; then
        printf '%s\n' "${RUN_AS[@]}" "$chromium" "${flags[@]}"
        return
    fi
    HOME="$BROWSER_HOME" "${RUN_AS[@]}" "$chromium" "${flags[@]}" &
    local chromium_pid=$!

    local allowed log_level
    allowed="$(option allowed_hosts '["homeassistant"]' | jq -r 'join(",")')"
    log_level="$(option log_level '"warning"' | jq -r '.')"
    "$PYTHON" "$GATEWAY" \
        --listen "0.0.0.0:$GATEWAY_PORT" \
        --upstream "127.0.0.1:$DEVTOOLS_PORT" \
        --allow "$allowed" \
        --token-file "$TOKEN_FILE" \
        --page-url "$PAGE_URL" \
        --supervisor "$SUPERVISOR_URL" \
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
