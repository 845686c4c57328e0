# Helpers shared by the benchmark scripts (sourced: scripts/bench*.sh).

say() { printf '\n== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port PORT PID
    local i
    for i in $(seq 1 100); do
        python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)))" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
secs() { awk -v x="$1" 'BEGIN { if (x < 10) printf "%.3f s", x; else printf "%.2f s", x }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

giftless_yaml() { # giftless_yaml STORE [LIFETIME]: a read-only, anonymous giftless config over local storage STORE
    cat <<EOF
AUTH_PROVIDERS:
  - giftless.auth.allow_anon:read_only
LEGACY_ENDPOINTS: false
TRANSFER_ADAPTERS:
  basic:
    factory: giftless.transfer.basic_streaming:factory
    options:
      storage_class: giftless.storage.local_storage:LocalStorage
      storage_options:
        path: $1
      action_lifetime: ${2:-3600}
EOF
}
