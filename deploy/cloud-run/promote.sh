#!/usr/bin/env bash
# Cloud Build step: move the service's traffic to revision tag TAG. Staging moves at once.
# Production first sends CANARY_PERCENT % for BAKE_SECONDS while the tagged revision is probed;
# a failed probe puts all traffic back on the revisions that had it, and the build fails.
set -euo pipefail
: "${TARGET:?}" "${TAG:?}" "${REGION:?}"
cd "$(dirname "$0")"
service="bff-gateway-$TARGET"
canary="${CANARY_PERCENT:-10}"
bake="${BAKE_SECONDS:-600}"
interval="${PROBE_INTERVAL_SECONDS:-15}"

# The traffic split before this release, as NAME=PERCENT pairs for --to-revisions.
previous=$(gcloud run services describe "$service" --region "$REGION" --format json |
  python3 -c '
import json, sys
split = {}
for t in json.load(sys.stdin).get("status", {}).get("traffic", []):
    if t.get("percent") and t.get("revisionName"):
        split[t["revisionName"]] = split.get(t["revisionName"], 0) + t["percent"]
print(",".join(f"{name}={percent}" for name, percent in split.items()))
')

move() { gcloud run services update-traffic "$service" --region "$REGION" "$@" --quiet; }

if [ "$TARGET" = production ] && [ -n "$previous" ]; then
  echo "canary: $canary % to $TAG for $bake s (was: $previous)"
  move --to-tags "$TAG=$canary"
  url=$(bash ./tag-url.sh "$service" "$TAG")
  deadline=$((SECONDS + bake))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! curl -fsS --max-time 10 -o /dev/null "$url/ready"; then
      echo "canary $TAG failed /ready: traffic back to $previous" >&2
      move --to-revisions "$previous"
      exit 1
    fi
    sleep "$interval"
  done
fi
move --to-tags "$TAG=100"
echo "all traffic on $TAG; roll back with: gcloud run services update-traffic $service --region $REGION --to-revisions ${previous:-<revision>=100}"
