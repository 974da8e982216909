#!/usr/bin/env bash
# Cloud Build step: create or update the Cloud Scheduler job that calls the scheduled
# dispatcher of TARGET's service with a Google OIDC token of the scheduler service account
# (audience: the dispatcher URL), every SCHEDULE (UTC).
set -euo pipefail
: "${TARGET:?}" "${REGION:?}" "${PROJECT_ID:?}" "${SCHEDULE:?}"
service="bff-gateway-$TARGET"
job="bff-scheduled-dispatcher-$TARGET"
invoker="bff-scheduler-$TARGET@$PROJECT_ID.iam.gserviceaccount.com"
url="$(gcloud run services describe "$service" --region "$REGION" --format 'value(status.url)')/functions/v1/scheduled-dispatcher"

common=(
  --location "$REGION"
  --schedule "$SCHEDULE" --time-zone Etc/UTC
  --uri "$url" --http-method POST
  --oidc-service-account-email "$invoker" --oidc-token-audience "$url"
  --attempt-deadline 300s
  --quiet
)
if gcloud scheduler jobs describe "$job" --location "$REGION" >/dev/null 2>&1; then
  gcloud scheduler jobs update http "$job" "${common[@]}" --update-headers content-type=application/json --message-body '{}'
else
  gcloud scheduler jobs create http "$job" "${common[@]}" --headers content-type=application/json --message-body '{}'
fi
echo "$job: POST $url every '$SCHEDULE' (UTC) as $invoker"
