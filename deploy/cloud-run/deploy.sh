#!/usr/bin/env bash
# Cloud Build step: deploy IMAGE to the Cloud Run service of TARGET as a new revision with no
# traffic and the revision tag TAG, then check the tagged URL answers /health and /ready.
# The service is created on its first deploy (Cloud Run gives a new service's first revision
# all traffic; --no-traffic applies from the second deploy on).
set -euo pipefail
: "${TARGET:?staging or production}" "${IMAGE:?}" "${TAG:?}" "${REGION:?}" "${PROJECT_ID:?}" "${PROJECT_NUMBER:?}"
cd "$(dirname "$0")"
service="bff-gateway-$TARGET"
runtime_sa="bff-gateway-$TARGET@$PROJECT_ID.iam.gserviceaccount.com"

# The plain configuration, plus what the scheduled dispatcher verifies Cloud Scheduler's OIDC
# token against (scheduler.sh creates the jobs with the same audience and account), and the
# project id the log lines name their trace with (Cloud Logging links them to Cloud Trace).
env_file=$(mktemp)
trap 'rm -f "$env_file"' EXIT
cat "$TARGET.env.yaml" >"$env_file"
cat >>"$env_file" <<YAML
SCHEDULER_AUDIENCE: https://$service-$PROJECT_NUMBER.$REGION.run.app/functions/v1/scheduled-dispatcher
SCHEDULER_SERVICE_ACCOUNT: bff-scheduler-$TARGET@$PROJECT_ID.iam.gserviceaccount.com
GOOGLE_CLOUD_PROJECT: $PROJECT_ID
YAML

# Every secret of secrets.txt that exists for this environment; one not created (an integration
# not used yet) stays unset, and start-up refuses a configuration that needs it.
secrets=""
while read -r name; do
  case "$name" in '' | '#'*) continue ;; esac
  if gcloud secrets describe "$TARGET-$name" --format 'value(name)' >/dev/null 2>&1; then
    secrets+="${secrets:+,}$name=$TARGET-$name:latest"
  else
    echo "secret $TARGET-$name does not exist: $name stays unset"
  fi
done <secrets.txt

traffic=()
if gcloud run services describe "$service" --region "$REGION" --format 'value(metadata.name)' >/dev/null 2>&1; then
  traffic=(--no-traffic)
else
  echo "first deploy of $service: its first revision takes all traffic"
fi

# Memorystore and other private addresses through Direct VPC egress, when a network is given.
network=()
if [ -n "${NETWORK:-}" ]; then
  network=(--network "$NETWORK" --subnet "${SUBNET:-$NETWORK}" --vpc-egress private-ranges-only)
fi

case "$TARGET" in
  production) scale=(--min-instances 1 --max-instances 50) ;;
  *) scale=(--min-instances 0 --max-instances 5) ;;
esac

# --timeout exceeds LEGACY_TOTAL_TIMEOUT_MS (120 s); SIGTERM drains within SHUTDOWN_GRACE_MS.
gcloud run deploy "$service" \
  --image "$IMAGE" \
  --region "$REGION" \
  --service-account "$runtime_sa" \
  --env-vars-file "$env_file" \
  --set-secrets "$secrets" \
  --tag "$TAG" \
  "${traffic[@]}" \
  --port 8080 --cpu 1 --memory 512Mi --concurrency 80 --timeout 130s \
  --execution-environment gen2 --cpu-boost \
  "${scale[@]}" \
  "${network[@]}" \
  --labels "app=bff-gateway,env=$TARGET" \
  --quiet

url=$(bash ./tag-url.sh "$service" "$TAG")
for path in /health /ready; do
  ok=""
  for _ in $(seq 1 10); do
    if curl -fsS --max-time 10 -o /dev/null "$url$path"; then ok=1; break; fi
    sleep 3
  done
  [ -n "$ok" ] || { echo "revision tag $TAG: $url$path does not answer 200" >&2; exit 1; }
done
echo "revision tag $TAG serves at $url"
