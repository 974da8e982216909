import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Stand-ins for `gcloud` and `curl`, put first on PATH for the deploy scripts under
 * `deploy/cloud-run/`. `gcloud` records every call and answers the read commands the scripts
 * use the way the real one does: `run services describe --format json` prints the service
 * resource (Knative `status.traffic` entries with `revisionName`, `percent`, `tag`, `url`), a
 * missing service or job exits 1. `curl` fails for URLs containing `failUrlPart`.
 */
export interface FakeCloud {
  bin: string
  env: Record<string, string>
  calls(): Promise<string[][]>
  /** The `--env-vars-file` given to the last `gcloud run deploy`. */
  envVars(): Promise<string>
  probes(): Promise<string[]>
}

export interface ServiceState {
  url: string
  traffic: Array<{ revisionName?: string; percent?: number; tag?: string; url?: string }>
}

export async function fakeCloud(opts: {
  /** The service before the scripts run; absent: not created yet. */
  service?: ServiceState
  /** The service once `gcloud run deploy` has run. */
  afterDeploy: ServiceState
  jobExists?: boolean
  /** Secret Manager secrets that do not exist. */
  missingSecrets?: string[]
  failUrlPart?: string
}): Promise<FakeCloud> {
  const bin = await mkdtemp(join(tmpdir(), 'bff-fake-gcloud-'))
  const log = join(bin, 'gcloud.log')
  const probes = join(bin, 'curl.log')
  const serviceJson = join(bin, 'service.json')
  const deployedJson = join(bin, 'deployed.json')
  const resource = (status: ServiceState) => JSON.stringify({ metadata: { name: 'svc' }, status })
  if (opts.service) await writeFile(serviceJson, resource(opts.service))
  await writeFile(deployedJson, resource(opts.afterDeploy))
  await writeFile(
    join(bin, 'gcloud'),
    `#!/usr/bin/env bash
# one call per line, arguments separated by a unit separator
(IFS=$'\\x1f'; echo "$*") >> "${log}"
args=" $* "
if [[ "$args" == *" run deploy "* ]]; then
  cp "${deployedJson}" "${serviceJson}"
  # keep the env-vars file the deploy passed (the script deletes its own copy)
  prev=""; for a in "$@"; do [ "$prev" = --env-vars-file ] && cp "$a" "${bin}/env-vars.yaml"; prev="$a"; done
  exit 0
fi
if [[ "$args" == *" run services describe "* ]]; then
  [ -f "${serviceJson}" ] || { echo "ERROR: (gcloud.run.services.describe) Cannot find service" >&2; exit 1; }
  if [[ "$args" == *" --format json "* ]]; then cat "${serviceJson}"
  elif [[ "$args" == *"status.url"* ]]; then python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["status"]["url"])' "${serviceJson}"
  else echo svc; fi
  exit 0
fi
if [[ "$args" == *" secrets describe "* ]]; then
  case " ${(opts.missingSecrets ?? []).join(' ')} " in *" $3 "*) echo "ERROR: NOT_FOUND" >&2; exit 1 ;; esac
  exit 0
fi
if [[ "$args" == *" scheduler jobs describe "* ]]; then
  ${opts.jobExists ? 'exit 0' : 'echo "ERROR: NOT_FOUND" >&2; exit 1'}
fi
exit 0
`,
  )
  await writeFile(
    join(bin, 'curl'),
    `#!/usr/bin/env bash
url="\${@: -1}"
echo "$url" >> "${probes}"
${opts.failUrlPart ? `[[ "$url" == *"${opts.failUrlPart}"* ]] && exit 22` : ''}
exit 0
`,
  )
  await chmod(join(bin, 'gcloud'), 0o755)
  await chmod(join(bin, 'curl'), 0o755)
  const read = (f: string) => readFile(f, 'utf8').catch(() => '')
  return {
    bin,
    env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    calls: async () =>
      (await read(log))
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\x1f')),
    envVars: () => read(join(bin, 'env-vars.yaml')),
    probes: async () => (await read(probes)).split('\n').filter(Boolean),
  }
}
