#!/usr/bin/env bash
# Cloud Build step: create or update the Cloud Scheduler jobs of TARGET's scheduled dispatcher,
# one per line of schedules.txt. Each posts {"cron": "<expression>"} with a Google OIDC token of
# the scheduler service account; the audience is the dispatcher URL, which deploy.sh gives the
# service as SCHEDULER_AUDIENCE.
set -euo pipefail
: "${TARGET:?}" "${REGION:?}" "${PROJECT_ID:?}" "${PROJECT_NUMBER:?}"
cd "$(dirname "$0")"
service="bff-gateway-$TARGET"
invoker="bff-scheduler-$TARGET@$PROJECT_ID.iam.gserviceaccount.com"
# Cloud Run's deterministic service URL, known before the first deploy.
url="https://$service-$PROJECT_NUMBER.$REGION.run.app/functions/v1/scheduled-dispatcher"

while read -r name cron; do
  case "$name" in '' | '#'*) continue ;; esac
  job="bff-jobs-$TARGET-$name"
  common=(
    --location "$REGION"
    --schedule "$cron" --time-zone Etc/UTC
    --uri "$url" --http-method POST
    --message-body "{\"cron\":\"$cron\"}"
    --oidc-service-account-email "$invoker" --oidc-token-audience "$url"
    --attempt-deadline 300s
    --quiet
  )
  if gcloud scheduler jobs describe "$job" --location "$REGION" >/dev/null 2>&1; then
    gcloud scheduler jobs update http "$job" "${common[@]}" --update-headers content-type=application/json
  else
    gcloud scheduler jobs create http "$job" "${common[@]}" --headers content-type=application/json
  fi
  echo "$job: POST $url {\"cron\":\"$cron\"} as $invoker"
done <schedules.txt
