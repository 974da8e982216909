-- AI suggestion quotas and usage log.
--
-- Every AI suggestion (reply or poll) costs one unit of the caller's quota for that feature,
-- consumed before the model is called. The stay-legacy `refresh-fallback-quotas` job tops the
-- quotas up on its schedule through `ai_quota_refill`. A user without a row gets one on first
-- use, holding the feature's `daily_allowance` from `ai_quota_settings`.
--
-- Only the service role (the gateway, the refill job) may call these functions or touch the
-- tables; anon and authenticated get nothing (RLS on, no policies). The roles come from
-- src/platform/db/roles.ts (or Supabase itself). Plain PostgreSQL 15 and PGlite; re-runnable.

create table if not exists public.ai_quota_settings (
  feature text primary key check (feature ~ '^[a-z][a-z0-9-]{0,39}$'),
  -- Units a new user starts with and the default top-up of the refill job.
  daily_allowance integer not null check (daily_allowance >= 0),
  -- How often the refill job runs; used only to tell a client when to retry.
  refill_period interval not null default interval '1 day' check (refill_period > interval '0')
);

insert into public.ai_quota_settings (feature, daily_allowance)
values ('reply-suggest', 50), ('poll-suggest', 20)
on conflict (feature) do nothing;

create table if not exists public.ai_quotas (
  user_id uuid not null,
  feature text not null references public.ai_quota_settings (feature),
  remaining integer not null check (remaining >= 0),
  -- Start of the period the current units belong to (first use or last refill).
  period_start timestamptz not null default now(),
  refilled_at timestamptz,
  primary key (user_id, feature)
);

create index if not exists ai_quotas_feature_idx on public.ai_quotas (feature);

-- What happened per request, without any content: enough for cost and abuse reports.
create table if not exists public.ai_usage (
  id bigint generated always as identity primary key,
  request_id text not null check (length(request_id) between 1 and 200),
  user_id uuid not null,
  feature text not null,
  -- The model that produced the answer, or 'template' when no model answered.
  model text not null check (length(model) between 1 and 100),
  source text not null check (source in ('ai', 'template')),
  input_tokens integer not null default 0 check (input_tokens >= 0),
  output_tokens integer not null default 0 check (output_tokens >= 0),
  -- Why the primary model did not answer (overloaded, rate-limited, invalid-output, ...).
  fallback_reason text check (fallback_reason is null or length(fallback_reason) <= 40),
  created_at timestamptz not null default now()
);

create index if not exists ai_usage_user_created_idx on public.ai_usage (user_id, created_at);
create index if not exists ai_usage_created_idx on public.ai_usage (created_at);

alter table public.ai_quota_settings enable row level security;
alter table public.ai_quotas enable row level security;
alter table public.ai_usage enable row level security;

revoke all on table public.ai_quota_settings, public.ai_quotas, public.ai_usage
  from public, anon, authenticated;
grant select, insert, update, delete on table public.ai_quota_settings, public.ai_quotas,
  public.ai_usage to service_role;

-- Consume `p_cost` units atomically and return what is left.
-- The conditional UPDATE takes the row lock, so concurrent calls serialise on the row and the
-- `remaining >= p_cost` test is re-checked against the committed value: never overspent.
-- Raises `quota-exhausted: <feature>; resets_at=<ISO time or unknown>` (SQLSTATE P0001).
create or replace function public.ai_quota_consume(p_user_id uuid, p_feature text, p_cost integer)
returns integer
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_allowance integer;
  v_period interval;
  v_remaining integer;
  v_period_start timestamptz;
begin
  if p_cost is null or p_cost < 1 then
    raise exception using errcode = 'P0001', message = 'invalid-cost: cost must be at least 1';
  end if;

  select daily_allowance, refill_period into v_allowance, v_period
  from ai_quota_settings where feature = p_feature;
  if not found then
    raise exception using errcode = 'P0001', message = 'unknown-feature: ' || coalesce(p_feature, 'null');
  end if;

  insert into ai_quotas (user_id, feature, remaining)
  values (p_user_id, p_feature, v_allowance)
  on conflict (user_id, feature) do nothing;

  update ai_quotas
  set remaining = remaining - p_cost
  where user_id = p_user_id and feature = p_feature and remaining >= p_cost
  returning remaining into v_remaining;

  if v_remaining is null then
    select period_start into v_period_start
    from ai_quotas where user_id = p_user_id and feature = p_feature;
    raise exception using errcode = 'P0001', message = 'quota-exhausted: ' || p_feature
      || '; resets_at=' || coalesce(
        to_char((v_period_start + v_period) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'unknown');
  end if;

  return v_remaining;
end
$$;

-- What the legacy `refresh-fallback-quotas` job does on its schedule: top every user of a
-- feature up to `p_amount` units (the feature's daily allowance when null). A user holding more
-- (a manual grant) keeps it. Returns the number of quota rows touched.
create or replace function public.ai_quota_refill(p_feature text, p_amount integer default null)
returns integer
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_amount integer;
  v_count integer;
begin
  select coalesce(p_amount, daily_allowance) into v_amount
  from ai_quota_settings where feature = p_feature;
  if not found then
    raise exception using errcode = 'P0001', message = 'unknown-feature: ' || coalesce(p_feature, 'null');
  end if;
  if v_amount < 0 then
    raise exception using errcode = 'P0001', message = 'invalid-amount: amount must not be negative';
  end if;

  update ai_quotas
  set remaining = greatest(remaining, v_amount), period_start = now(), refilled_at = now()
  where feature = p_feature;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Append one usage row; no prompt or suggestion text is ever stored.
create or replace function public.ai_usage_record(
  p_request_id text,
  p_user_id uuid,
  p_feature text,
  p_model text,
  p_source text,
  p_input_tokens integer,
  p_output_tokens integer,
  p_fallback_reason text default null
)
returns bigint
language sql
security definer
set search_path = public, pg_temp
as $$
  insert into ai_usage (
    request_id, user_id, feature, model, source, input_tokens, output_tokens, fallback_reason
  )
  values (
    p_request_id, p_user_id, p_feature, p_model, p_source,
    coalesce(p_input_tokens, 0), coalesce(p_output_tokens, 0), p_fallback_reason
  )
  returning id
$$;

revoke all on function public.ai_quota_consume(uuid, text, integer) from public, anon, authenticated;
revoke all on function public.ai_quota_refill(text, integer) from public, anon, authenticated;
revoke all on function
  public.ai_usage_record(text, uuid, text, text, text, integer, integer, text)
  from public, anon, authenticated;

grant execute on function public.ai_quota_consume(uuid, text, integer) to service_role;
grant execute on function public.ai_quota_refill(text, integer) to service_role;
grant execute on function
  public.ai_usage_record(text, uuid, text, text, text, integer, integer, text)
  to service_role;
