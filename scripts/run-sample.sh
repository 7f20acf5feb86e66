#!/usr/bin/env bash
# `make run`: the daemon on sample-repo/, pushed into a bare repo in the data dir on first run.
# Data dir, instance and listen address are syncd's own settings (SYNCD_DATA_DIR, SYNCD_INSTANCE,
# SYNCD_LISTEN, a SYNCD_CONFIG file): no flag here overrides them, and the hints show them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SYNCD_BIN:-.venv/bin}"  # `make run` gives .venv-run/bin (the runtime only)
# What `syncd run` will use: its own resolution of the settings (flags > SYNCD_* > config file).
setting() { awk -v k="$1" '$1 == k { print $2 }' <<<"$CONFIG"; }
CONFIG="$("$BIN/syncd" run --repo sample-repo --print-config)"
DATA="$(setting data-dir)"
INSTANCE="$(setting instance)"
LISTEN="$(setting listen)"
# The web container's real name: other instances than `default` prefix it (`blue_shop_default_web`).
WEB="$("$BIN/python" -c 'import sys
from syncd.engine.base import Names
from syncd.ids import ServiceKey
print(Names(sys.argv[1]).container(ServiceKey("shop", "default", "web")))' "$INSTANCE")"
BARE="$DATA/sample-repo.git"
if [[ ! -d "$BARE" ]]; then
    mkdir -p "$DATA"
    git init -q --bare -b main "$BARE"
    work="$(mktemp -d)"
    cp -r sample-repo/. "$work"
    git -C "$work" init -q -b main
    git -C "$work" add -A
    git -C "$work" -c user.name=syncd -c user.email=syncd@localhost commit -qm "sample-repo"
    git -C "$work" push -q "$BARE" main
    rm -rf "$work"
    echo "[run] made $BARE from sample-repo/"
fi
cat <<EOT
[run] syncd run --repo $BARE --allow-env SHOP_REGISTRY_PASSWORD
      (instance $INSTANCE, data dir $DATA, API on $LISTEN; Ctrl-C stops it)

Push a change from another terminal:
    git clone $BARE /tmp/sample-work && cd /tmp/sample-work
    sed -i 's/hello from production/hello from a push/' overlays/production.yaml
    git commit -qam "new greeting" && git push
    docker inspect $WEB --format '{{.Config.Env}}'   # running within a second or two
Status:   curl -s http://$LISTEN/v2/syncd/daemon/status
History:  curl -s http://$LISTEN/v2/syncd/syncs

EOT
# The sample's private image comes from the local test registry (scripts/ensure-registry.sh);
# its manifests may read that one variable of syncd's environment, and nothing else.
export SHOP_REGISTRY_PASSWORD="${SHOP_REGISTRY_PASSWORD:-syncd-test-pw}"
exec "$BIN/syncd" run --repo "$BARE" --allow-env SHOP_REGISTRY_PASSWORD
