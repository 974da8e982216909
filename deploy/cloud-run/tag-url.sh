#!/usr/bin/env bash
# Prints the URL of revision tag $2 of Cloud Run service $1 (REGION from the environment).
set -euo pipefail
gcloud run services describe "$1" --region "${REGION:?}" --format json |
  python3 -c '
import json, sys
tag = sys.argv[1]
for t in json.load(sys.stdin).get("status", {}).get("traffic", []):
    if t.get("tag") == tag and t.get("url"):
        print(t["url"])
        sys.exit(0)
sys.exit("no URL for revision tag " + tag)
' "$2"
