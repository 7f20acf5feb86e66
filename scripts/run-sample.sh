#!/usr/bin/env bash
# `make run`: the daemon on sample-repo/, pushed into a bare repo in the data dir on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${SYNCD_BIN:-.venv/bin}"  # `make run` gives .venv-run/bin (the runtime only)
DATA="$($BIN/python -c 'import os; from syncd.settings import default_data_dir; print(os.environ.get("SYNCD_DATA_DIR") or default_data_dir(os.environ))')"
BARE="$DATA/sample-repo.git"
LISTEN="${SYNCD_LISTEN:-127.0.0.1:8080}"  # SYNCD_LISTEN picks another address
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
[run] syncd run --repo $BARE --listen $LISTEN --allow-env SHOP_REGISTRY_PASSWORD
      (Ctrl-C stops it)

Push a change from another terminal:
    git clone $BARE /tmp/sample-work && cd /tmp/sample-work
    sed -i 's/hello from production/hello from a push/' overlays/production.yaml
    git commit -qam "new greeting" && git push
    docker inspect shop_default_web --format '{{.Config.Env}}'   # running within a second or two
Status:   curl -s http://$LISTEN/v2/syncd/daemon/status
History:  curl -s http://$LISTEN/v2/syncd/syncs

EOT
# The sample's private image comes from the local test registry (scripts/ensure-registry.sh);
# its manifests may read that one variable of syncd's environment, and nothing else.
export SHOP_REGISTRY_PASSWORD="${SHOP_REGISTRY_PASSWORD:-syncd-test-pw}"
exec "$BIN/syncd" run --repo "$BARE" --listen "$LISTEN" --allow-env SHOP_REGISTRY_PASSWORD
