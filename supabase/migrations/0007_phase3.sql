-- Phase 3: scheduled jobs (leases and run history), identity verification, ops back office.
--
-- Every change is one SQL function below, executable by service_role only, so the gateway
-- (supabase-js rpc on Workers, node-postgres or PGlite on Node) makes the same atomic changes.
-- Contracts: docs/data-model.md. Re-runnable (if not exists / or replace). Plain PostgreSQL 15
-- and PGlite.

do $$ begin create role anon nologin; exception when duplicate_object or unique_violation then null; end $$;
do $$ begin create role authenticated nologin; exception when duplicate_object or unique_violation then null; end $$;
do $$ begin create role service_role nologin; exception when duplicate_object or unique_violation then null; end $$;

-- Scheduled jobs -------------------------------------------------------------------------------

-- One row per job that ever ran: who holds its lease and until when, and where it stopped.
-- The lease uses the database clock, so instances with skewed clocks agree on it.
create table if not exists public.job_leases (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  -- Instance and run holding the lease; null when free.
  holder text check (holder is null or length(holder) between 1 and 200),
  run_id bigint,
  expires_at timestamptz,
  -- What the job saved for its next run (a cursor), opaque to the dispatcher.
  state jsonb not null default '{}'::jsonb check (jsonb_typeof(state) = 'object'),
  updated_at timestamptz not null default now()
);

create table if not exists public.job_runs (
  id bigint generated always as identity primary key,
  name text not null check (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  -- What started it: 'scheduler' (Cloud Scheduler), 'cron' (Workers), 'cli', 'test'.
  trigger text not null check (trigger ~ '^[a-z0-9-]{1,32}$'),
  holder text not null check (length(holder) between 1 and 200),
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  -- running → done | partial (stopped at its time budget, resumes next run) | failed |
  -- abandoned (its lease expired while running: the instance died or overran).
  status text not null default 'running'
    check (status in ('running', 'done', 'partial', 'failed', 'abandoned')),
  counts jsonb not null default '{}'::jsonb check (jsonb_typeof(counts) = 'object'),
  -- Error name and a short message, never personal data (the gateway masks it first).
  error text check (error is null or length(error) <= 500),
  constraint job_runs_ended check ((status = 'running') = (ended_at is null))
);

create index if not exists job_runs_name_id on public.job_runs (name, id desc);
create index if not exists job_runs_running on public.job_runs (name) where status = 'running';

alter table public.job_leases enable row level security;
alter table public.job_runs enable row level security;
revoke all on table public.job_leases, public.job_runs from public, anon, authenticated;
grant select, insert, update, delete on table public.job_leases, public.job_runs to service_role;

-- Take the lease of job p_name for p_ttl_seconds and open a run, or report who holds it.
-- Returns {acquired: true, runId, state} or {acquired: false, holder, expiresAt}.
-- The row lock serialises overlapping triggers: exactly one of them sees the lease free.
create or replace function public.job_lease_acquire(
  p_name text,
  p_holder text,
  p_ttl_seconds integer,
  p_trigger text
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_lease public.job_leases;
  v_run_id bigint;
begin
  if p_name is null or p_name !~ '^[a-z0-9][a-z0-9-]{0,63}$' then
    raise exception using errcode = 'P0001', message = 'invalid-job: name';
  end if;
  if p_ttl_seconds is null or p_ttl_seconds < 1 or p_ttl_seconds > 86400 then
    raise exception using errcode = 'P0001', message = 'invalid-job: ttl 1..86400 seconds';
  end if;
  insert into public.job_leases (name) values (p_name) on conflict (name) do nothing;
  select * into v_lease from public.job_leases where name = p_name for update;
  if v_lease.holder is not null and v_lease.expires_at > now() then
    return jsonb_build_object('acquired', false, 'holder', v_lease.holder,
      'runId', v_lease.run_id, 'expiresAt', v_lease.expires_at);
  end if;
  -- A run whose lease ran out without finishing is closed as abandoned.
  update public.job_runs set status = 'abandoned', ended_at = now(),
    error = coalesce(error, 'lease expired before the run finished')
  where name = p_name and status = 'running';
  insert into public.job_runs (name, trigger, holder) values (p_name, p_trigger, p_holder)
  returning id into v_run_id;
  update public.job_leases set holder = p_holder, run_id = v_run_id,
    expires_at = now() + make_interval(secs => p_ttl_seconds), updated_at = now()
  where name = p_name;
  return jsonb_build_object('acquired', true, 'runId', v_run_id, 'state', v_lease.state);
end
$$;

-- Close run p_run_id and free the lease, if p_holder still holds it. A holder whose lease
-- expired and was taken over records its outcome on its own run but frees nothing.
-- Returns the run as jsonb.
create or replace function public.job_run_finish(
  p_run_id bigint,
  p_holder text,
  p_status text,
  p_counts jsonb,
  p_error text default null,
  p_state jsonb default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_run public.job_runs;
begin
  if p_status not in ('done', 'partial', 'failed') then
    raise exception using errcode = 'P0001', message = 'invalid-job: status';
  end if;
  update public.job_runs set
    status = case when status = 'running' then p_status else status end,
    ended_at = coalesce(ended_at, now()),
    counts = coalesce(p_counts, '{}'::jsonb),
    error = left(p_error, 500)
  where id = p_run_id and holder = p_holder
  returning * into v_run;
  if not found then
    raise exception using errcode = 'P0001', message = 'job-run-not-found: runId';
  end if;
  update public.job_leases set
    holder = null, run_id = null, expires_at = null, updated_at = now(),
    state = case when p_state is not null and jsonb_typeof(p_state) = 'object'
      then p_state else state end
  where name = v_run.name and holder = p_holder and run_id = p_run_id;
  return public.job_run_json(v_run);
end
$$;

create or replace function public.job_run_json(p_run public.job_runs)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'runId', p_run.id, 'name', p_run.name, 'trigger', p_run.trigger, 'holder', p_run.holder,
    'startedAt', p_run.started_at, 'endedAt', p_run.ended_at, 'status', p_run.status,
    'counts', p_run.counts, 'error', p_run.error)
$$;

-- Run history, newest first, optionally for one job, p_limit (1..500) runs with id < p_before.
create or replace function public.job_runs_list(
  p_name text default null,
  p_limit integer default 50,
  p_before bigint default null
)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(public.job_run_json(r) order by r.id desc), '[]'::jsonb)
  from (
    select * from public.job_runs
    where (p_name is null or name = p_name) and (p_before is null or id < p_before)
    order by id desc
    limit greatest(1, least(coalesce(p_limit, 50), 500))
  ) as r
$$;

revoke execute on function
  public.job_lease_acquire(text, text, integer, text),
  public.job_run_finish(bigint, text, text, jsonb, text, jsonb),
  public.job_run_json(public.job_runs),
  public.job_runs_list(text, integer, bigint)
from public, anon, authenticated;
grant execute on function
  public.job_lease_acquire(text, text, integer, text),
  public.job_run_finish(bigint, text, text, jsonb, text, jsonb),
  public.job_run_json(public.job_runs),
  public.job_runs_list(text, integer, bigint)
to service_role;
