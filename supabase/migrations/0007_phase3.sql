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

-- Identity verification -------------------------------------------------------------------------

-- One verified identity per user. Personal data is stored only encrypted: `pii_ciphertext` is
-- AES-256-GCM (key `pii_key_id` of IDENTITY_CI_KEYS) over {ci, di, name, birthDate, phone,
-- gender, isForeigner}; `ci_hash` is HMAC-SHA256(IDENTITY_CI_HASH_KEY, ci) for lookups; the
-- birth year stays clear for the age rule. The gateway encrypts and hashes; SQL never sees CI.
create table if not exists public.identity_verifications (
  user_id uuid primary key,
  provider text not null check (provider ~ '^[a-z0-9-]{1,32}$'),
  verification_id text not null unique check (length(verification_id) between 1 and 200),
  ci_hash text not null check (ci_hash ~ '^[A-Za-z0-9_-]{43}$'),
  pii_key_id text not null check (pii_key_id ~ '^[a-z0-9-]{1,16}$'),
  pii_ciphertext text not null check (length(pii_ciphertext) between 16 and 8192),
  birth_year smallint not null check (birth_year between 1900 and 2100),
  verified_at timestamptz not null,
  recorded_at timestamptz not null default now()
);

-- The same person (CI) on two accounts is never merged silently.
create unique index if not exists identity_verifications_ci_hash
  on public.identity_verifications (ci_hash);

-- Every verification id the gateway accepted from the provider, so none is used twice.
create table if not exists public.identity_verification_uses (
  verification_id text primary key check (length(verification_id) between 1 and 200),
  user_id uuid not null,
  outcome text not null check (outcome in ('verified', 'duplicate-ci')),
  used_at timestamptz not null default now()
);

-- A CI already verified on another account: the second account is not verified, ops decide.
create table if not exists public.identity_duplicate_flags (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  existing_user_id uuid not null,
  ci_hash text not null,
  verification_id text not null,
  flagged_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by text
);

create index if not exists identity_duplicate_flags_open
  on public.identity_duplicate_flags (flagged_at) where resolved_at is null;

alter table public.identity_verifications enable row level security;
alter table public.identity_verification_uses enable row level security;
alter table public.identity_duplicate_flags enable row level security;
revoke all on table public.identity_verifications, public.identity_verification_uses,
  public.identity_duplicate_flags from public, anon, authenticated;
grant select, insert, update, delete on table public.identity_verifications,
  public.identity_verification_uses, public.identity_duplicate_flags to service_role;

-- Adult by the youth protection statute's year rule, in KST (no daylight saving: UTC+9).
create or replace function public.identity_is_adult(p_birth_year integer, p_at timestamptz default now())
returns boolean
language sql
stable
set search_path = public, pg_temp
as $$
  select extract(year from (p_at at time zone 'UTC') + interval '9 hours')::integer - p_birth_year >= 19
$$;

-- Record a verification the gateway fetched from the provider and checked (status, binding,
-- age). Returns {outcome: 'verified', ...status} or {outcome: 'duplicate-ci', flagId} (then
-- nothing is stored for the user but the flag and the use of the id).
-- Raises `verification-reused` when the id was accepted before.
create or replace function public.identity_record(
  p_user_id uuid,
  p_provider text,
  p_verification_id text,
  p_ci_hash text,
  p_pii_key_id text,
  p_pii_ciphertext text,
  p_birth_year integer,
  p_verified_at timestamptz
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_existing uuid;
  v_flag_id bigint;
  v_inserted integer;
begin
  insert into public.identity_verification_uses (verification_id, user_id, outcome)
  values (p_verification_id, p_user_id, 'verified')
  on conflict (verification_id) do nothing;
  get diagnostics v_inserted = row_count;
  if v_inserted = 0 then
    raise exception using errcode = 'P0001', message = 'verification-reused: identityVerificationId';
  end if;
  -- Serialise verifications of one CI so two accounts cannot both pass the check below.
  perform pg_advisory_xact_lock(hashtextextended('identity:' || p_ci_hash, 0));
  select user_id into v_existing from public.identity_verifications
  where ci_hash = p_ci_hash and user_id <> p_user_id;
  if found then
    insert into public.identity_duplicate_flags (user_id, existing_user_id, ci_hash, verification_id)
    values (p_user_id, v_existing, p_ci_hash, p_verification_id)
    returning id into v_flag_id;
    update public.identity_verification_uses set outcome = 'duplicate-ci'
    where verification_id = p_verification_id;
    return jsonb_build_object('outcome', 'duplicate-ci', 'flagId', v_flag_id);
  end if;
  insert into public.identity_verifications (user_id, provider, verification_id, ci_hash,
    pii_key_id, pii_ciphertext, birth_year, verified_at)
  values (p_user_id, p_provider, p_verification_id, p_ci_hash, p_pii_key_id, p_pii_ciphertext,
    p_birth_year, p_verified_at)
  on conflict (user_id) do update set
    provider = excluded.provider, verification_id = excluded.verification_id,
    ci_hash = excluded.ci_hash, pii_key_id = excluded.pii_key_id,
    pii_ciphertext = excluded.pii_ciphertext, birth_year = excluded.birth_year,
    verified_at = excluded.verified_at, recorded_at = now();
  return jsonb_build_object('outcome', 'verified') || public.identity_status(p_user_id);
end
$$;

-- What settlement, age gates and ops may know: verified or not, when, adult now, open flags.
create or replace function public.identity_status(p_user_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'userId', p_user_id,
    'verified', v.user_id is not null,
    'provider', v.provider,
    'verifiedAt', v.verified_at,
    'adult', case when v.user_id is null then null else public.identity_is_adult(v.birth_year) end,
    'openDuplicateFlags', (select count(*) from public.identity_duplicate_flags f
      where f.user_id = p_user_id and f.resolved_at is null))
  from (select p_user_id as id) as me
  left join public.identity_verifications v on v.user_id = me.id
$$;

-- The encrypted record, for the gateway to decrypt and mask (ops view, key rotation).
create or replace function public.identity_record_get(p_user_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object('userId', user_id, 'provider', provider, 'piiKeyId', pii_key_id,
    'piiCiphertext', pii_ciphertext, 'birthYear', birth_year, 'verifiedAt', verified_at)
  from public.identity_verifications where user_id = p_user_id
$$;

-- Key rotation: records still encrypted with another key than p_current_key_id, p_limit at a time.
create or replace function public.identity_records_to_rotate(p_current_key_id text, p_limit integer default 100)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object('userId', user_id, 'piiKeyId', pii_key_id,
    'piiCiphertext', pii_ciphertext)), '[]'::jsonb)
  from (select * from public.identity_verifications where pii_key_id <> p_current_key_id
    order by user_id limit greatest(1, least(coalesce(p_limit, 100), 1000))) r
$$;

-- Replace one record's ciphertext if it is still the one read (compare-and-set).
create or replace function public.identity_reencrypt(
  p_user_id uuid, p_old_ciphertext text, p_key_id text, p_ciphertext text)
returns boolean
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  update public.identity_verifications set pii_key_id = p_key_id, pii_ciphertext = p_ciphertext
  where user_id = p_user_id and pii_ciphertext = p_old_ciphertext;
  return found;
end
$$;

-- Settlement confirmation (0005_settlement.sql) asks this hook: a creator counts as verified
-- only with a verified identity on their own account (a duplicate-CI attempt stores none).
create or replace function public.settlement_identity_verified(p_creator uuid)
returns boolean
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select exists (select 1 from public.identity_verifications where user_id = p_creator)
$$;

-- Ops back office --------------------------------------------------------------------------------

-- Append-only record of every ops write: who, when, what, before → after, why.
create table if not exists public.ops_audit (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  -- 'jwt:<sub>' of the ops user.
  actor text not null check (length(actor) between 1 and 200),
  action text not null check (action ~ '^[a-z][a-z0-9.-]{0,63}$'),
  target_type text not null check (target_type ~ '^[a-z][a-z0-9-]{0,31}$'),
  target_id text not null check (length(target_id) between 1 and 200),
  before jsonb,
  after jsonb,
  reason text not null check (length(btrim(reason)) between 1 and 500),
  request_id text check (request_id is null or length(request_id) <= 200)
);

create index if not exists ops_audit_target on public.ops_audit (target_type, target_id, id desc);
create index if not exists ops_audit_actor on public.ops_audit (actor, id desc);

alter table public.ops_audit enable row level security;
revoke all on table public.ops_audit from public, anon, authenticated, service_role;

create or replace function public.ops_audit_refuse_change()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  raise exception using
    errcode = 'P0001',
    message = 'ops-audit-append-only: ' || tg_op || ' on ops_audit is not allowed';
end
$$;

drop trigger if exists ops_audit_no_update_delete on public.ops_audit;
create trigger ops_audit_no_update_delete
  before update or delete on public.ops_audit
  for each row execute function public.ops_audit_refuse_change();

drop trigger if exists ops_audit_no_truncate on public.ops_audit;
create trigger ops_audit_no_truncate
  before truncate on public.ops_audit
  for each statement execute function public.ops_audit_refuse_change();

create or replace function public.ops_audit_append(
  p_actor text,
  p_action text,
  p_target_type text,
  p_target_id text,
  p_before jsonb,
  p_after jsonb,
  p_reason text,
  p_request_id text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_row public.ops_audit;
begin
  if p_reason is null or length(btrim(p_reason)) = 0 then
    raise exception using errcode = 'P0001', message = 'reason-required: reason';
  end if;
  insert into public.ops_audit (actor, action, target_type, target_id, before, after, reason, request_id)
  values (p_actor, p_action, p_target_type, p_target_id, p_before, p_after, btrim(p_reason), p_request_id)
  returning * into v_row;
  return to_jsonb(v_row);
end
$$;

-- Newest first, filtered, p_limit (1..200) entries with id < p_before.
create or replace function public.ops_audit_list(
  p_actor text default null,
  p_action text default null,
  p_target_type text default null,
  p_target_id text default null,
  p_from timestamptz default null,
  p_to timestamptz default null,
  p_limit integer default 50,
  p_before bigint default null
)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(to_jsonb(a) order by a.id desc), '[]'::jsonb)
  from (
    select * from public.ops_audit
    where (p_actor is null or actor = p_actor)
      and (p_action is null or action = p_action)
      and (p_target_type is null or target_type = p_target_type)
      and (p_target_id is null or target_id = p_target_id)
      and (p_from is null or at >= p_from)
      and (p_to is null or at < p_to)
      and (p_before is null or id < p_before)
    order by id desc
    limit greatest(1, least(coalesce(p_limit, 50), 200))
  ) a
$$;

-- Payout holds: a held creator's payouts are not confirmed or sent (settlement checks
-- payout_hold_active before paying).
create table if not exists public.creator_payout_holds (
  creator_id uuid primary key,
  held boolean not null,
  reason text not null check (length(btrim(reason)) between 1 and 500),
  updated_by text not null check (length(updated_by) between 1 and 200),
  updated_at timestamptz not null default now()
);

alter table public.creator_payout_holds enable row level security;
revoke all on table public.creator_payout_holds from public, anon, authenticated;
grant select, insert, update, delete on table public.creator_payout_holds to service_role;

create or replace function public.payout_hold_active(p_creator_id uuid)
returns boolean
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce((select held from public.creator_payout_holds where creator_id = p_creator_id), false)
$$;

-- Hold (p_held = true) or release a creator's payouts, with its audit row, atomically.
-- Returns {changed, before, after, auditId}; no change is made or recorded when already so.
create or replace function public.ops_payout_hold_set(
  p_actor text,
  p_creator_id uuid,
  p_held boolean,
  p_reason text,
  p_request_id text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_before boolean;
  v_audit jsonb;
begin
  perform pg_advisory_xact_lock(hashtextextended('payout-hold:' || p_creator_id::text, 0));
  v_before := public.payout_hold_active(p_creator_id);
  if v_before = p_held then
    return jsonb_build_object('changed', false, 'before', jsonb_build_object('held', v_before),
      'after', jsonb_build_object('held', v_before), 'auditId', null);
  end if;
  v_audit := public.ops_audit_append(p_actor,
    case when p_held then 'payout.hold' else 'payout.release' end, 'creator', p_creator_id::text,
    jsonb_build_object('held', v_before), jsonb_build_object('held', p_held), p_reason, p_request_id);
  insert into public.creator_payout_holds (creator_id, held, reason, updated_by)
  values (p_creator_id, p_held, btrim(p_reason), p_actor)
  on conflict (creator_id) do update set held = excluded.held, reason = excluded.reason,
    updated_by = excluded.updated_by, updated_at = now();
  return jsonb_build_object('changed', true, 'before', jsonb_build_object('held', v_before),
    'after', jsonb_build_object('held', p_held), 'auditId', v_audit->'id');
end
$$;

-- Set a user's remaining AI units for a feature, with its audit row.
create or replace function public.ops_ai_quota_set(
  p_actor text,
  p_user_id uuid,
  p_feature text,
  p_remaining integer,
  p_reason text,
  p_request_id text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_before integer;
  v_audit jsonb;
begin
  if not exists (select 1 from public.ai_quota_settings where feature = p_feature) then
    raise exception using errcode = 'P0001', message = 'unknown-feature: feature';
  end if;
  if p_remaining is null or p_remaining < 0 or p_remaining > 100000 then
    raise exception using errcode = 'P0001', message = 'invalid-remaining: remaining';
  end if;
  select remaining into v_before from public.ai_quotas
  where user_id = p_user_id and feature = p_feature for update;
  v_audit := public.ops_audit_append(p_actor, 'ai-quota.set', 'user', p_user_id::text,
    jsonb_build_object('feature', p_feature, 'remaining', v_before),
    jsonb_build_object('feature', p_feature, 'remaining', p_remaining), p_reason, p_request_id);
  insert into public.ai_quotas (user_id, feature, remaining)
  values (p_user_id, p_feature, p_remaining)
  on conflict (user_id, feature) do update set remaining = excluded.remaining;
  return jsonb_build_object('changed', true,
    'before', jsonb_build_object('feature', p_feature, 'remaining', v_before),
    'after', jsonb_build_object('feature', p_feature, 'remaining', p_remaining),
    'auditId', v_audit->'id');
end
$$;

-- A user's orders, payments or refunds for ops, newest first, keyset-paginated on
-- (created_at, id) < (p_before_at, p_before_id), optionally by status and time range.
create or replace function public.ops_user_records(
  p_user_id uuid,
  p_section text,
  p_status text default null,
  p_from timestamptz default null,
  p_to timestamptz default null,
  p_limit integer default 50,
  p_before_at timestamptz default null,
  p_before_id text default null
)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_limit integer := greatest(1, least(coalesce(p_limit, 50), 200));
  v_rows jsonb;
begin
  if p_section = 'orders' then
    select coalesce(jsonb_agg(x.j order by x.created_at desc, x.id desc), '[]'::jsonb) into v_rows
    from (
      select o.created_at, o.id::text as id, jsonb_build_object(
        'id', o.id, 'orderId', o.toss_order_id, 'orderName', o.order_name, 'amount', o.amount_krw,
        'status', o.status, 'createdAt', o.created_at, 'updatedAt', o.updated_at) as j
      from public.orders o
      where o.user_id = p_user_id
        and (p_status is null or o.status = p_status)
        and (p_from is null or o.created_at >= p_from) and (p_to is null or o.created_at < p_to)
        and (p_before_at is null or (o.created_at, o.id::text) < (p_before_at, p_before_id))
      order by o.created_at desc, o.id desc limit v_limit) x;
  elsif p_section = 'payments' then
    select coalesce(jsonb_agg(x.j order by x.created_at desc, x.id desc), '[]'::jsonb) into v_rows
    from (
      select p.created_at, p.payment_key as id, jsonb_build_object(
        'paymentKey', p.payment_key, 'orderId', o.toss_order_id, 'status', p.status,
        'method', p.method, 'totalAmount', p.total_amount, 'balanceAmount', p.balance_amount,
        'approvedAt', p.approved_at, 'createdAt', p.created_at) as j
      from public.payments p join public.orders o on o.id = p.order_id
      where o.user_id = p_user_id
        and (p_status is null or p.status = p_status)
        and (p_from is null or p.created_at >= p_from) and (p_to is null or p.created_at < p_to)
        and (p_before_at is null or (p.created_at, p.payment_key) < (p_before_at, p_before_id))
      order by p.created_at desc, p.payment_key desc limit v_limit) x;
  elsif p_section = 'refunds' then
    select coalesce(jsonb_agg(x.j order by x.created_at desc, x.id desc), '[]'::jsonb) into v_rows
    from (
      select r.created_at, r.id::text as id, jsonb_build_object(
        'refundId', r.id, 'paymentKey', r.payment_key, 'amount', r.amount, 'status', r.status,
        'reason', r.reason, 'failureCode', r.failure_code, 'requesterIsOps', r.requester_is_ops,
        'createdAt', r.created_at, 'settledAt', r.settled_at) as j
      from public.refunds r join public.payments p on p.payment_key = r.payment_key
        join public.orders o on o.id = p.order_id
      where o.user_id = p_user_id
        and (p_status is null or r.status = p_status)
        and (p_from is null or r.created_at >= p_from) and (p_to is null or r.created_at < p_to)
        and (p_before_at is null or (r.created_at, r.id::text) < (p_before_at, p_before_id))
      order by r.created_at desc, r.id desc limit v_limit) x;
  elsif p_section = 'pledges' then
    -- Funding pledges (supabase/migrations/0006_funding.sql) the user made as a fan.
    select coalesce(jsonb_agg(x.j order by x.created_at desc, x.id desc), '[]'::jsonb) into v_rows
    from (
      select fp.created_at, fp.id::text as id, jsonb_build_object(
        'pledgeId', fp.id, 'campaignId', fp.campaign_id, 'campaignTitle', c.title,
        'campaignState', c.state, 'tierId', fp.tier_id, 'quantity', fp.quantity,
        'amount', fp.amount_krw, 'status', fp.status, 'attempt', fp.attempt,
        'lastFailureCode', fp.last_failure_code, 'chargedAt', fp.charged_at,
        'createdAt', fp.created_at) as j
      from public.funding_pledges fp join public.funding_campaigns c on c.id = fp.campaign_id
      where fp.fan_id = p_user_id
        and (p_status is null or fp.status = p_status)
        and (p_from is null or fp.created_at >= p_from) and (p_to is null or fp.created_at < p_to)
        and (p_before_at is null or (fp.created_at, fp.id::text) < (p_before_at, p_before_id))
      order by fp.created_at desc, fp.id desc limit v_limit) x;
  else
    raise exception using errcode = 'P0001', message = 'unknown-section: section';
  end if;
  return v_rows;
end
$$;

-- Suspend a live campaign: the funding feature's ops cancellation (pledges released, cards
-- deleted by its workers) and the audit row, in one transaction. Only a live campaign.
create or replace function public.ops_campaign_suspend(
  p_actor text,
  p_campaign_id uuid,
  p_reason text,
  p_request_id text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_state text;
  v_after jsonb;
  v_audit jsonb;
begin
  if p_reason is null or length(btrim(p_reason)) = 0 then
    raise exception using errcode = 'P0001', message = 'reason-required: reason';
  end if;
  select state into v_state from public.funding_campaigns where id = p_campaign_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = 'campaign-not-found: campaignId';
  end if;
  if v_state <> 'live' then
    raise exception using errcode = 'P0001', message = 'campaign-not-live: ' || v_state;
  end if;
  v_after := public.funding_campaign_cancel(p_actor, p_campaign_id, p_reason);
  v_audit := public.ops_audit_append(p_actor, 'campaign.suspend', 'campaign', p_campaign_id::text,
    jsonb_build_object('state', v_state), jsonb_build_object('state', v_after->>'state'),
    p_reason, p_request_id);
  return jsonb_build_object('changed', true, 'before', jsonb_build_object('state', v_state),
    'after', jsonb_build_object('state', v_after->>'state'), 'auditId', v_audit->'id');
end
$$;

revoke execute on function public.ops_campaign_suspend(text, uuid, text, text)
  from public, anon, authenticated;
grant execute on function public.ops_campaign_suspend(text, uuid, text, text) to service_role;

revoke execute on function
  public.identity_is_adult(integer, timestamptz),
  public.identity_record(uuid, text, text, text, text, text, integer, timestamptz),
  public.identity_status(uuid),
  public.identity_record_get(uuid),
  public.identity_records_to_rotate(text, integer),
  public.identity_reencrypt(uuid, text, text, text),
  public.ops_audit_refuse_change(),
  public.ops_audit_append(text, text, text, text, jsonb, jsonb, text, text),
  public.ops_audit_list(text, text, text, text, timestamptz, timestamptz, integer, bigint),
  public.payout_hold_active(uuid),
  public.ops_payout_hold_set(text, uuid, boolean, text, text),
  public.ops_ai_quota_set(text, uuid, text, integer, text, text),
  public.ops_user_records(uuid, text, text, timestamptz, timestamptz, integer, timestamptz, text)
from public, anon, authenticated;
grant execute on function
  public.identity_is_adult(integer, timestamptz),
  public.identity_record(uuid, text, text, text, text, text, integer, timestamptz),
  public.identity_status(uuid),
  public.identity_record_get(uuid),
  public.identity_records_to_rotate(text, integer),
  public.identity_reencrypt(uuid, text, text, text),
  public.ops_audit_append(text, text, text, text, jsonb, jsonb, text, text),
  public.ops_audit_list(text, text, text, text, timestamptz, timestamptz, integer, bigint),
  public.payout_hold_active(uuid),
  public.ops_payout_hold_set(text, uuid, boolean, text, text),
  public.ops_ai_quota_set(text, uuid, text, integer, text, text),
  public.ops_user_records(uuid, text, text, timestamptz, timestamptz, integer, timestamptz, text)
to service_role;
