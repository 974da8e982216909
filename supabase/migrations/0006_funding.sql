-- Funding: campaigns and their reward tiers, the campaign state machine with its history,
-- pledges with a card registered now and charged only when the campaign succeeds, the billing
-- keys (service_role only), charge attempts and the work queue the completion workers share.
--
-- Like 0001, every change is one security definer SQL function executable by service_role only,
-- and the file is re-runnable (if not exists / or replace). Money is integer KRW.
-- Errors: RAISE P0001 'code: detail', the detail starting with the field at fault where there is
-- one; 'invalid-transition: <current state>' for a state machine refusal.

-- Campaigns -----------------------------------------------------------------------------------

create table if not exists public.funding_campaigns (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null,
  title text not null check (length(title) between 1 and 100),
  description text not null default '' check (length(description) <= 20000),
  goal_krw bigint not null check (goal_krw between 1000 and 100000000000),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  state text not null default 'draft' check (state in (
    'draft', 'submitted', 'approved', 'rejected', 'live', 'ended', 'succeeded', 'failed', 'cancelled'
  )),
  -- Reason of the latest transition that needed one (rejection, cancellation).
  state_reason text check (length(state_reason) <= 500),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint funding_campaigns_dates check (ends_at > starts_at)
);

create index if not exists funding_campaigns_creator on public.funding_campaigns (creator_id);
create index if not exists funding_campaigns_due on public.funding_campaigns (state, starts_at, ends_at)
  where state in ('approved', 'live', 'ended');

create table if not exists public.funding_tiers (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid not null references public.funding_campaigns (id) on delete cascade,
  position integer not null check (position between 0 and 49),
  name text not null check (length(name) between 1 and 100),
  -- Cards cannot be charged less than 100 won.
  price_krw integer not null check (price_krw between 100 and 10000000),
  stock integer not null check (stock between 1 and 1000000),
  remaining integer not null check (remaining >= 0 and remaining <= stock),
  -- 'YYYY-MM', a KST calendar month.
  delivery_month text not null check (delivery_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  unique (campaign_id, position)
);

-- Every transition, append-only: who, when, from → to, why, and what was submitted.
create table if not exists public.funding_campaign_transitions (
  id bigint generated always as identity primary key,
  campaign_id uuid not null references public.funding_campaigns (id) on delete cascade,
  from_state text,
  to_state text not null,
  -- A user id, 'service' (a service-role call without a user) or 'system' (the scheduler).
  actor text not null check (length(actor) between 1 and 64),
  actor_role text not null check (actor_role in ('creator', 'ops', 'system')),
  reason text check (length(reason) <= 500),
  -- The campaign and its tiers as submitted (resubmissions keep every version).
  snapshot jsonb,
  at timestamptz not null default now()
);

create index if not exists funding_transitions_campaign on public.funding_campaign_transitions (campaign_id, id);

-- Pledges -------------------------------------------------------------------------------------

create table if not exists public.funding_pledges (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid not null references public.funding_campaigns (id),
  tier_id uuid not null references public.funding_tiers (id),
  fan_id uuid not null,
  quantity integer not null check (quantity between 1 and 99),
  extra_krw integer not null default 0 check (extra_krw between 0 and 10000000),
  unit_price_krw integer not null check (unit_price_krw >= 100),
  amount_krw integer not null check (amount_krw >= 100),
  -- pending: stock held while the card is registered; active: card registered; charged;
  -- charge-failed: every attempt declined (stock released); cancelled: by the fan;
  -- released: the campaign failed or was cancelled; abandoned: card never registered.
  status text not null default 'pending' check (status in (
    'pending', 'active', 'charged', 'charge-failed', 'cancelled', 'released', 'abandoned'
  )),
  -- Charging: `attempt` is the current attempt number; `attempt_open` while its outcome at Toss is
  -- unknown (sent, or claimed to be sent): the next claim reconciles it instead of starting anew.
  attempt integer not null default 0 check (attempt >= 0),
  attempt_open boolean not null default false,
  declines integer not null default 0,
  unknowns integer not null default 0,
  last_failure_code text check (length(last_failure_code) <= 64),
  -- Work for the completion workers: claimed with FOR UPDATE SKIP LOCKED under a lease.
  work text check (work in ('charge', 'delete-key')),
  work_due_at timestamptz,
  lease_owner text check (length(lease_owner) <= 100),
  lease_until timestamptz,
  charged_at timestamptz,
  charge_order_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint funding_pledges_work_due check ((work is null) = (work_due_at is null))
);

-- One live pledge per fan per tier.
create unique index if not exists funding_pledges_one_per_tier
  on public.funding_pledges (fan_id, tier_id) where status in ('pending', 'active');
create index if not exists funding_pledges_campaign on public.funding_pledges (campaign_id, status);
create index if not exists funding_pledges_work
  on public.funding_pledges (work_due_at) where work is not null;
create index if not exists funding_pledges_campaign_work
  on public.funding_pledges (campaign_id, work_due_at) where work is not null;
create index if not exists funding_pledges_pending
  on public.funding_pledges (created_at) where status = 'pending';

-- Billing keys: a card-on-file credential. Only service_role can read this table; no function
-- returns a key except the work claim (to the gateway, which sends it to Toss and nowhere else).
create table if not exists public.funding_billing_keys (
  pledge_id uuid primary key references public.funding_pledges (id),
  customer_key text not null,
  -- Null once deleted at Toss: nothing is kept that could still charge.
  billing_key text check (length(billing_key) between 1 and 200),
  -- sha256 of the key, to recognise BILLING_DELETED webhooks after the key itself is gone.
  billing_key_digest bytea not null unique,
  method text,
  -- Masked card facts as Toss returns them (number is already masked), for the fan's view.
  card jsonb,
  issued_at timestamptz not null default now(),
  deleted_at timestamptz,
  delete_reason text check (length(delete_reason) <= 200)
);

-- One row per charge attempt, written before the request is sent: its order id and
-- Idempotency-Key are derived from the pledge and the attempt number.
create table if not exists public.funding_charge_attempts (
  order_id text primary key check (order_id ~ '^[A-Za-z0-9_-]{6,64}$'),
  pledge_id uuid not null references public.funding_pledges (id),
  attempt integer not null check (attempt >= 1),
  idempotency_key text not null unique,
  amount_krw integer not null,
  status text not null default 'sent' check (status in ('sent', 'done', 'declined')),
  failure_code text check (length(failure_code) <= 64),
  payment_key text,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  unique (pledge_id, attempt)
);

-- Funding webhook deliveries: recorded before Toss is asked anything.
create table if not exists public.funding_webhook_events (
  event_id text primary key check (length(event_id) between 1 and 200),
  event_type text not null check (length(event_type) between 1 and 64),
  -- processing (with a lease) → one of the final outcomes; a failed attempt is taken over.
  outcome text not null default 'processing',
  lease_until timestamptz,
  received_at timestamptz not null default now(),
  finished_at timestamptz
);

alter table public.funding_campaigns enable row level security;
alter table public.funding_tiers enable row level security;
alter table public.funding_campaign_transitions enable row level security;
alter table public.funding_pledges enable row level security;
alter table public.funding_billing_keys enable row level security;
alter table public.funding_charge_attempts enable row level security;
alter table public.funding_webhook_events enable row level security;

revoke all on table public.funding_campaigns, public.funding_tiers,
  public.funding_campaign_transitions, public.funding_pledges, public.funding_billing_keys,
  public.funding_charge_attempts, public.funding_webhook_events
from public, anon, authenticated;
grant select, insert, update, delete on table public.funding_campaigns, public.funding_tiers,
  public.funding_campaign_transitions, public.funding_pledges, public.funding_billing_keys,
  public.funding_charge_attempts, public.funding_webhook_events
to service_role;

-- Helpers -------------------------------------------------------------------------------------

create or replace function public.funding_fail(p_code text, p_detail text)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
begin
  raise exception using errcode = 'P0001', message = p_code || ': ' || p_detail;
end
$$;

create or replace function public.funding_kst(p_at timestamptz)
returns text
language sql
immutable
set search_path = public, pg_temp
as $$
  select to_char(p_at at time zone 'Asia/Seoul', 'YYYY-MM-DD"T"HH24:MI:SS"+09:00"')
$$;

create or replace function public.funding_campaign_json(p_campaign public.funding_campaigns)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'campaignId', p_campaign.id,
    'creatorId', p_campaign.creator_id,
    'title', p_campaign.title,
    'description', p_campaign.description,
    'goalAmount', p_campaign.goal_krw,
    'startsAt', public.funding_kst(p_campaign.starts_at),
    'endsAt', public.funding_kst(p_campaign.ends_at),
    'state', p_campaign.state,
    'stateReason', p_campaign.state_reason,
    'pledgedAmount', (select coalesce(sum(amount_krw), 0) from public.funding_pledges
      where campaign_id = p_campaign.id and status in ('active', 'charged')),
    'tiers', (select coalesce(jsonb_agg(jsonb_build_object(
        'tierId', t.id, 'name', t.name, 'price', t.price_krw, 'stock', t.stock,
        'remaining', t.remaining, 'deliveryMonth', t.delivery_month) order by t.position), '[]'::jsonb)
      from public.funding_tiers t where t.campaign_id = p_campaign.id)
  )
$$;

create or replace function public.funding_record_transition(
  p_campaign_id uuid,
  p_from text,
  p_to text,
  p_actor text,
  p_actor_role text,
  p_reason text,
  p_snapshot jsonb,
  p_now timestamptz
)
returns void
language sql
set search_path = public, pg_temp
as $$
  insert into public.funding_campaign_transitions
    (campaign_id, from_state, to_state, actor, actor_role, reason, snapshot, at)
  values (p_campaign_id, p_from, p_to, p_actor, p_actor_role, p_reason, p_snapshot, p_now)
$$;

-- Lock a campaign and check who may act on it. A creator may only touch their own.
create or replace function public.funding_lock_campaign(p_campaign_id uuid, p_creator_id uuid)
returns public.funding_campaigns
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_campaign public.funding_campaigns;
begin
  select * into v_campaign from public.funding_campaigns where id = p_campaign_id for update;
  if not found then
    perform public.funding_fail('campaign-not-found', 'campaignId');
  end if;
  if p_creator_id is not null and v_campaign.creator_id <> p_creator_id then
    perform public.funding_fail('not-campaign-owner', 'campaignId');
  end if;
  return v_campaign;
end
$$;

-- Move a locked campaign from one of p_from to p_to, recording the transition.
create or replace function public.funding_transition(
  p_campaign public.funding_campaigns,
  p_from text[],
  p_to text,
  p_actor text,
  p_actor_role text,
  p_reason text,
  p_snapshot jsonb,
  p_now timestamptz
)
returns public.funding_campaigns
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_campaign public.funding_campaigns;
begin
  if not (p_campaign.state = any (p_from)) then
    perform public.funding_fail('invalid-transition', p_campaign.state);
  end if;
  update public.funding_campaigns set
    state = p_to,
    state_reason = case when p_reason is not null then p_reason else state_reason end,
    updated_at = p_now
  where id = p_campaign.id
  returning * into v_campaign;
  perform public.funding_record_transition(p_campaign.id, p_campaign.state, p_to, p_actor,
    p_actor_role, p_reason, p_snapshot, p_now);
  return v_campaign;
end
$$;

-- Campaign content ----------------------------------------------------------------------------

-- Validate p_campaign ({title, description?, goalAmount, startsAt, endsAt, tiers[]}) and write
-- it to the campaign (its tiers replaced). Dates must carry an offset; the gateway adds +09:00
-- to a bare KST time. No start in the past, no end before the start.
create or replace function public.funding_write_content(
  p_campaign_id uuid,
  p_content jsonb,
  p_now timestamptz
)
returns void
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_starts timestamptz;
  v_ends timestamptz;
  v_tier jsonb;
  v_index integer;
begin
  if jsonb_typeof(p_content) is distinct from 'object' then
    perform public.funding_fail('invalid-campaign', 'campaign');
  end if;
  if jsonb_typeof(p_content->'title') is distinct from 'string'
    or length(trim(p_content->>'title')) not between 1 and 100 then
    perform public.funding_fail('invalid-campaign', 'campaign.title');
  end if;
  if p_content ? 'description' and (jsonb_typeof(p_content->'description') is distinct from 'string'
    or length(p_content->>'description') > 20000) then
    perform public.funding_fail('invalid-campaign', 'campaign.description');
  end if;
  if jsonb_typeof(p_content->'goalAmount') is distinct from 'number'
    or (p_content->>'goalAmount') !~ '^[0-9]{1,12}$'
    or (p_content->>'goalAmount')::bigint not between 1000 and 100000000000 then
    perform public.funding_fail('invalid-campaign', 'campaign.goalAmount');
  end if;
  begin
    v_starts := (p_content->>'startsAt')::timestamptz;
  exception when others then
    v_starts := null;
  end;
  if v_starts is null or (p_content->>'startsAt') !~ '(Z|[+-][0-9]{2}:?[0-9]{2})$' then
    perform public.funding_fail('invalid-campaign', 'campaign.startsAt');
  end if;
  begin
    v_ends := (p_content->>'endsAt')::timestamptz;
  exception when others then
    v_ends := null;
  end;
  if v_ends is null or (p_content->>'endsAt') !~ '(Z|[+-][0-9]{2}:?[0-9]{2})$' then
    perform public.funding_fail('invalid-campaign', 'campaign.endsAt');
  end if;
  if v_starts <= p_now then
    perform public.funding_fail('start-in-past', 'campaign.startsAt');
  end if;
  if v_ends <= v_starts then
    perform public.funding_fail('end-before-start', 'campaign.endsAt');
  end if;
  if v_ends > v_starts + interval '180 days' then
    perform public.funding_fail('invalid-campaign', 'campaign.endsAt (at most 180 days after the start)');
  end if;
  if jsonb_typeof(p_content->'tiers') is distinct from 'array'
    or jsonb_array_length(p_content->'tiers') not between 1 and 50 then
    perform public.funding_fail('invalid-campaign', 'campaign.tiers');
  end if;
  for v_tier, v_index in
    select e, (o - 1)::integer from jsonb_array_elements(p_content->'tiers') with ordinality as t(e, o)
  loop
    if jsonb_typeof(v_tier->'name') is distinct from 'string'
      or length(trim(v_tier->>'name')) not between 1 and 100 then
      perform public.funding_fail('invalid-campaign', format('campaign.tiers.%s.name', v_index));
    end if;
    if jsonb_typeof(v_tier->'price') is distinct from 'number' or (v_tier->>'price') !~ '^[0-9]{1,8}$'
      or (v_tier->>'price')::integer not between 100 and 10000000 then
      perform public.funding_fail('invalid-campaign', format('campaign.tiers.%s.price', v_index));
    end if;
    if jsonb_typeof(v_tier->'stock') is distinct from 'number' or (v_tier->>'stock') !~ '^[0-9]{1,7}$'
      or (v_tier->>'stock')::integer not between 1 and 1000000 then
      perform public.funding_fail('invalid-campaign', format('campaign.tiers.%s.stock', v_index));
    end if;
    if jsonb_typeof(v_tier->'deliveryMonth') is distinct from 'string'
      or (v_tier->>'deliveryMonth') !~ '^[0-9]{4}-(0[1-9]|1[0-2])$'
      or (v_tier->>'deliveryMonth') < to_char(v_ends at time zone 'Asia/Seoul', 'YYYY-MM') then
      perform public.funding_fail('invalid-campaign', format('campaign.tiers.%s.deliveryMonth', v_index));
    end if;
  end loop;

  update public.funding_campaigns set
    title = trim(p_content->>'title'),
    description = coalesce(p_content->>'description', ''),
    goal_krw = (p_content->>'goalAmount')::bigint,
    starts_at = v_starts,
    ends_at = v_ends,
    updated_at = p_now
  where id = p_campaign_id;
  delete from public.funding_tiers where campaign_id = p_campaign_id;
  insert into public.funding_tiers (campaign_id, position, name, price_krw, stock, remaining, delivery_month)
  select p_campaign_id, (o - 1)::integer, trim(e->>'name'), (e->>'price')::integer,
    (e->>'stock')::integer, (e->>'stock')::integer, e->>'deliveryMonth'
  from jsonb_array_elements(p_content->'tiers') with ordinality as t(e, o);
end
$$;

-- Transitions (one function each) -------------------------------------------------------------

-- Creator: create a draft (p_campaign_id null) or edit their own draft or rejected campaign.
create or replace function public.funding_campaign_save(
  p_creator_id uuid,
  p_campaign_id uuid,
  p_content jsonb,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
begin
  if p_creator_id is null then
    perform public.funding_fail('invalid-user', 'a creator id is required');
  end if;
  if p_campaign_id is null then
    -- Placeholder values satisfy the constraints; funding_write_content sets the real ones.
    insert into public.funding_campaigns (creator_id, title, goal_krw, starts_at, ends_at, state, created_at, updated_at)
    values (p_creator_id, 'draft', 1000, v_now, v_now + interval '1 day', 'draft', v_now, v_now)
    returning * into v_campaign;
    perform public.funding_record_transition(v_campaign.id, null, 'draft', p_creator_id::text,
      'creator', null, null, v_now);
  else
    v_campaign := public.funding_lock_campaign(p_campaign_id, p_creator_id);
    if v_campaign.state not in ('draft', 'rejected') then
      perform public.funding_fail('invalid-transition', v_campaign.state);
    end if;
  end if;
  perform public.funding_write_content(v_campaign.id, p_content, v_now);
  select * into v_campaign from public.funding_campaigns where id = v_campaign.id;
  return public.funding_campaign_json(v_campaign);
end
$$;

-- Creator: draft → submitted, or rejected → submitted (a resubmission; history kept). With
-- p_content the content is saved first. The submitted content is kept in the transition.
create or replace function public.funding_campaign_submit(
  p_creator_id uuid,
  p_campaign_id uuid,
  p_content jsonb default null,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
  v_id uuid := p_campaign_id;
begin
  if p_content is not null then
    v_id := (public.funding_campaign_save(p_creator_id, p_campaign_id, p_content, v_now)->>'campaignId')::uuid;
  elsif p_campaign_id is null then
    perform public.funding_fail('invalid-campaign', 'campaign');
  end if;
  v_campaign := public.funding_lock_campaign(v_id, p_creator_id);
  if v_campaign.state in ('draft', 'rejected') and v_campaign.starts_at <= v_now then
    perform public.funding_fail('start-in-past', 'campaign.startsAt');
  end if;
  v_campaign := public.funding_transition(v_campaign, array['draft', 'rejected'], 'submitted',
    p_creator_id::text, 'creator', null, public.funding_campaign_json(v_campaign), v_now);
  update public.funding_campaigns set state_reason = null where id = v_id returning * into v_campaign;
  return public.funding_campaign_json(v_campaign);
end
$$;

-- Ops: submitted → approved, or submitted → rejected with a reason.
create or replace function public.funding_campaign_review(
  p_actor text,
  p_campaign_id uuid,
  p_decision text,
  p_reason text default null,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
begin
  if p_decision not in ('approve', 'reject') then
    perform public.funding_fail('invalid-decision', 'decision');
  end if;
  if p_decision = 'reject' and (p_reason is null or length(trim(p_reason)) not between 1 and 500) then
    perform public.funding_fail('reason-required', 'reason');
  end if;
  v_campaign := public.funding_lock_campaign(p_campaign_id, null);
  v_campaign := public.funding_transition(v_campaign, array['submitted'],
    case p_decision when 'approve' then 'approved' else 'rejected' end,
    p_actor, 'ops', nullif(trim(coalesce(p_reason, '')), ''), null, v_now);
  return public.funding_campaign_json(v_campaign);
end
$$;

-- Release every open pledge of a campaign (failed or cancelled): stock back, card deletion queued.
create or replace function public.funding_release_pledges(p_campaign_id uuid, p_now timestamptz)
returns integer
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_count integer;
begin
  with released as (
    update public.funding_pledges set status = 'released', work = 'delete-key', work_due_at = p_now,
      lease_owner = null, lease_until = null, updated_at = p_now
    where campaign_id = p_campaign_id and status in ('pending', 'active')
    returning tier_id, quantity
  ), per_tier as (
    select tier_id, sum(quantity) as quantity from released group by tier_id
  )
  update public.funding_tiers t set remaining = t.remaining + p.quantity
  from per_tier p where t.id = p.tier_id;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- Ops: cancel any campaign that has not ended (draft, submitted, approved, rejected, live before
-- its end). A live campaign's pledges are released and their cards deleted by the workers.
create or replace function public.funding_campaign_cancel(
  p_actor text,
  p_campaign_id uuid,
  p_reason text,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
begin
  if p_reason is null or length(trim(p_reason)) not between 1 and 500 then
    perform public.funding_fail('reason-required', 'reason');
  end if;
  v_campaign := public.funding_lock_campaign(p_campaign_id, null);
  if v_campaign.state = 'live' and v_campaign.ends_at <= v_now then
    perform public.funding_fail('invalid-transition', 'live (its end has passed)');
  end if;
  v_campaign := public.funding_transition(v_campaign,
    array['draft', 'submitted', 'approved', 'rejected', 'live'], 'cancelled', p_actor, 'ops',
    trim(p_reason), null, v_now);
  perform public.funding_release_pledges(v_campaign.id, v_now);
  return public.funding_campaign_json(v_campaign);
end
$$;

-- System: approved → live once its start has come.
create or replace function public.funding_campaign_go_live(p_campaign_id uuid, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
begin
  v_campaign := public.funding_lock_campaign(p_campaign_id, null);
  if v_campaign.state = 'approved' and v_campaign.starts_at > v_now then
    perform public.funding_fail('invalid-transition', 'approved (its start has not come)');
  end if;
  v_campaign := public.funding_transition(v_campaign, array['approved'], 'live', 'system', 'system',
    null, null, v_now);
  return public.funding_campaign_json(v_campaign);
end
$$;

-- System: live → ended once its end has come. Pending pledges (card never registered) lapse.
create or replace function public.funding_campaign_end(p_campaign_id uuid, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
begin
  v_campaign := public.funding_lock_campaign(p_campaign_id, null);
  if v_campaign.state = 'live' and v_campaign.ends_at > v_now then
    perform public.funding_fail('invalid-transition', 'live (its end has not come)');
  end if;
  v_campaign := public.funding_transition(v_campaign, array['live'], 'ended', 'system', 'system',
    null, null, v_now);
  with lapsed as (
    update public.funding_pledges set status = 'abandoned', updated_at = v_now
    where campaign_id = v_campaign.id and status = 'pending'
    returning tier_id, quantity
  ), per_tier as (select tier_id, sum(quantity) as quantity from lapsed group by tier_id)
  update public.funding_tiers t set remaining = t.remaining + p.quantity
  from per_tier p where t.id = p.tier_id;
  return public.funding_campaign_json(v_campaign);
end
$$;

-- System or ops: ended → succeeded (pledged total ≥ goal: every active pledge is queued for
-- charging) or failed (every pledge released, cards queued for deletion), in one transaction.
-- A live campaign past its end is ended first. Deciding a decided campaign changes nothing and
-- answers its state (so a repeated campaign-complete is harmless).
create or replace function public.funding_campaign_decide(
  p_actor text,
  p_campaign_id uuid,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
  v_total bigint;
  v_role text := case when p_actor = 'system' then 'system' else 'ops' end;
begin
  v_campaign := public.funding_lock_campaign(p_campaign_id, null);
  if v_campaign.state in ('succeeded', 'failed') then
    return public.funding_campaign_json(v_campaign) || jsonb_build_object('replayed', true);
  end if;
  if v_campaign.state = 'live' and v_campaign.ends_at <= v_now then
    perform public.funding_campaign_end(p_campaign_id, v_now);
    select * into v_campaign from public.funding_campaigns where id = p_campaign_id;
  end if;
  if v_campaign.state <> 'ended' then
    perform public.funding_fail('invalid-transition', v_campaign.state);
  end if;
  select coalesce(sum(amount_krw), 0) into v_total from public.funding_pledges
    where campaign_id = p_campaign_id and status = 'active';
  if v_total >= v_campaign.goal_krw then
    v_campaign := public.funding_transition(v_campaign, array['ended'], 'succeeded', p_actor, v_role,
      format('pledged %s of %s', v_total, v_campaign.goal_krw), null, v_now);
    update public.funding_pledges set work = 'charge', work_due_at = v_now, updated_at = v_now
      where campaign_id = p_campaign_id and status = 'active';
  else
    v_campaign := public.funding_transition(v_campaign, array['ended'], 'failed', p_actor, v_role,
      format('pledged %s of %s', v_total, v_campaign.goal_krw), null, v_now);
    perform public.funding_release_pledges(p_campaign_id, v_now);
  end if;
  return public.funding_campaign_json(v_campaign) || jsonb_build_object('replayed', false);
end
$$;

-- The scheduler's sweep: start campaigns whose start has come, end those whose end has come,
-- decide ended ones, and let pledges whose card was never registered lapse after p_pending_ttl.
-- Bounded by p_limit campaigns per step; returns what it did.
create or replace function public.funding_tick(
  p_now timestamptz default null,
  p_limit integer default 100,
  p_pending_ttl_seconds integer default 1800
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_id uuid;
  v_live integer := 0;
  v_ended integer := 0;
  v_decided jsonb := '[]'::jsonb;
  v_lapsed integer;
  v_state text;
begin
  for v_id in select id from public.funding_campaigns where state = 'approved' and starts_at <= v_now
    order by starts_at limit p_limit loop
    perform public.funding_campaign_go_live(v_id, v_now);
    v_live := v_live + 1;
  end loop;
  for v_id in select id from public.funding_campaigns where state = 'live' and ends_at <= v_now
    order by ends_at limit p_limit loop
    perform public.funding_campaign_end(v_id, v_now);
    v_ended := v_ended + 1;
  end loop;
  for v_id in select id from public.funding_campaigns where state = 'ended'
    order by ends_at limit p_limit loop
    v_state := public.funding_campaign_decide('system', v_id, v_now)->>'state';
    v_decided := v_decided || jsonb_build_array(jsonb_build_object('campaignId', v_id, 'state', v_state));
  end loop;
  with lapsed as (
    update public.funding_pledges set status = 'abandoned', updated_at = v_now
    where status = 'pending' and created_at <= v_now - make_interval(secs => p_pending_ttl_seconds)
    returning tier_id, quantity
  ), per_tier as (select tier_id, sum(quantity) as quantity from lapsed group by tier_id)
  update public.funding_tiers t set remaining = t.remaining + p.quantity
  from per_tier p where t.id = p.tier_id;
  get diagnostics v_lapsed = row_count;
  return jsonb_build_object('wentLive', v_live, 'ended', v_ended, 'decided', v_decided,
    'tiersWithLapsedPledges', v_lapsed);
end
$$;

-- Reads -----------------------------------------------------------------------------------------

-- A campaign with its transition history. A creator sees only their own (p_creator_id); ops
-- pass null.
create or replace function public.funding_campaign_get(p_campaign_id uuid, p_creator_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_campaign public.funding_campaigns;
begin
  select * into v_campaign from public.funding_campaigns where id = p_campaign_id;
  if not found then
    perform public.funding_fail('campaign-not-found', 'campaignId');
  end if;
  if p_creator_id is not null and v_campaign.creator_id <> p_creator_id then
    perform public.funding_fail('not-campaign-owner', 'campaignId');
  end if;
  return public.funding_campaign_json(v_campaign) || jsonb_build_object('history', (
    select coalesce(jsonb_agg(jsonb_build_object('from', from_state, 'to', to_state, 'actor', actor,
      'actorRole', actor_role, 'reason', reason, 'at', public.funding_kst(at)) order by id), '[]'::jsonb)
    from public.funding_campaign_transitions where campaign_id = p_campaign_id));
end
$$;

-- Completion progress for ops: what is charged, failed, retrying and remaining.
create or replace function public.funding_campaign_progress(p_campaign_id uuid, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_campaign public.funding_campaigns;
  v_result jsonb;
begin
  select * into v_campaign from public.funding_campaigns where id = p_campaign_id;
  if not found then
    perform public.funding_fail('campaign-not-found', 'campaignId');
  end if;
  select jsonb_build_object(
    'campaignId', v_campaign.id,
    'state', v_campaign.state,
    'goalAmount', v_campaign.goal_krw,
    'pledges', count(*) filter (where status in ('active', 'charged', 'charge-failed')),
    'charged', count(*) filter (where status = 'charged'),
    'chargedAmount', coalesce(sum(amount_krw) filter (where status = 'charged'), 0),
    'failed', count(*) filter (where status = 'charge-failed'),
    'retrying', count(*) filter (where status = 'active' and work = 'charge' and attempt > 0
      and not (attempt_open and lease_until > v_now)),
    'inFlight', count(*) filter (where status = 'active' and work = 'charge' and lease_until > v_now),
    'remaining', count(*) filter (where status = 'active' and work = 'charge'),
    'released', count(*) filter (where status = 'released'),
    'cardsToDelete', count(*) filter (where work = 'delete-key'),
    'nextAttemptAt', public.funding_kst(min(work_due_at) filter (where work = 'charge' and work_due_at > v_now))
  ) into v_result
  from public.funding_pledges where campaign_id = p_campaign_id;
  return v_result;
end
$$;

-- Pledges ---------------------------------------------------------------------------------------

create or replace function public.funding_pledge_json(p_pledge public.funding_pledges)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'pledgeId', p_pledge.id,
    'campaignId', p_pledge.campaign_id,
    'tierId', p_pledge.tier_id,
    'quantity', p_pledge.quantity,
    'extraAmount', p_pledge.extra_krw,
    'unitPrice', p_pledge.unit_price_krw,
    'amount', p_pledge.amount_krw,
    'status', p_pledge.status,
    'customerKey', (select customer_key from public.toss_customers where user_id = p_pledge.fan_id),
    'card', (select jsonb_build_object('method', k.method, 'number', k.card->>'number',
        'issuerCode', k.card->>'issuerCode', 'cardType', k.card->>'cardType')
      from public.funding_billing_keys k where k.pledge_id = p_pledge.id and k.deleted_at is null),
    'createdAt', public.funding_kst(p_pledge.created_at)
  )
$$;

-- Lock the campaign (shared with other pledgers: FOR SHARE) and check it takes pledges now.
create or replace function public.funding_open_campaign(p_campaign_id uuid, p_now timestamptz)
returns public.funding_campaigns
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_campaign public.funding_campaigns;
begin
  select * into v_campaign from public.funding_campaigns where id = p_campaign_id for share;
  if not found then
    perform public.funding_fail('campaign-not-found', 'campaignId');
  end if;
  if v_campaign.state <> 'live' then
    perform public.funding_fail('campaign-not-open', v_campaign.state);
  end if;
  if v_campaign.ends_at <= p_now then
    perform public.funding_fail('campaign-not-open', 'ended');
  end if;
  return v_campaign;
end
$$;

-- Fan: hold stock for a new pledge (status pending) while the card is registered. Amounts come
-- from the tier; the stock decrement is one conditional UPDATE, so concurrent pledges for the
-- last units cannot oversell.
create or replace function public.funding_pledge_reserve(
  p_fan_id uuid,
  p_campaign_id uuid,
  p_tier_id uuid,
  p_quantity integer,
  p_extra integer default 0,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_tier public.funding_tiers;
  v_pledge public.funding_pledges;
  v_amount bigint;
begin
  if p_fan_id is null then
    perform public.funding_fail('invalid-user', 'a fan id is required');
  end if;
  if p_quantity is null or p_quantity not between 1 and 99 then
    perform public.funding_fail('invalid-quantity', 'quantity');
  end if;
  if coalesce(p_extra, 0) not between 0 and 10000000 then
    perform public.funding_fail('invalid-amount', 'extraAmount');
  end if;
  perform public.funding_open_campaign(p_campaign_id, v_now);
  select * into v_tier from public.funding_tiers where id = p_tier_id and campaign_id = p_campaign_id;
  if not found then
    perform public.funding_fail('tier-not-found', 'tierId');
  end if;
  if exists (select 1 from public.funding_pledges where fan_id = p_fan_id and tier_id = p_tier_id
    and status in ('pending', 'active')) then
    perform public.funding_fail('already-pledged', 'tierId');
  end if;
  update public.funding_tiers set remaining = remaining - p_quantity
    where id = p_tier_id and remaining >= p_quantity
    returning * into v_tier;
  if not found then
    perform public.funding_fail('sold-out', 'quantity');
  end if;
  v_amount := v_tier.price_krw::bigint * p_quantity + coalesce(p_extra, 0);
  if v_amount > 2147483647 then
    perform public.funding_fail('amount-too-large', 'quantity');
  end if;
  insert into public.toss_customers (user_id) values (p_fan_id) on conflict do nothing;
  begin
    insert into public.funding_pledges (campaign_id, tier_id, fan_id, quantity, extra_krw,
      unit_price_krw, amount_krw, created_at, updated_at)
    values (p_campaign_id, p_tier_id, p_fan_id, p_quantity, coalesce(p_extra, 0), v_tier.price_krw,
      v_amount::integer, v_now, v_now)
    returning * into v_pledge;
  exception when unique_violation then
    -- A concurrent pledge by the same fan for the same tier won; the stock update rolls back.
    perform public.funding_fail('already-pledged', 'tierId');
  end;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- Lock a fan's own pledge.
create or replace function public.funding_lock_pledge(p_pledge_id uuid, p_fan_id uuid)
returns public.funding_pledges
language plpgsql
set search_path = public, pg_temp
as $$
declare
  v_pledge public.funding_pledges;
begin
  select * into v_pledge from public.funding_pledges where id = p_pledge_id for update;
  -- Someone else's pledge reads as absent: pledge ids are not enumerable.
  if not found or (p_fan_id is not null and v_pledge.fan_id <> p_fan_id) then
    perform public.funding_fail('pledge-not-found', 'pledgeId');
  end if;
  return v_pledge;
end
$$;

-- Gateway: the billing key was issued for a pending pledge. Stores it (service_role only) and
-- activates the pledge. Returns the pledge; a pledge that can no longer be activated (the
-- campaign closed meanwhile) raises campaign-not-open and the caller deletes the key at Toss.
create or replace function public.funding_pledge_activate(
  p_pledge_id uuid,
  p_fan_id uuid,
  p_customer_key text,
  p_billing_key text,
  p_method text default null,
  p_card jsonb default null,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_pledge public.funding_pledges;
begin
  if p_billing_key is null or length(p_billing_key) not between 1 and 200 then
    perform public.funding_fail('invalid-argument', 'billingKey');
  end if;
  v_pledge := public.funding_lock_pledge(p_pledge_id, p_fan_id);
  if v_pledge.status <> 'pending' then
    perform public.funding_fail('pledge-not-pending', v_pledge.status);
  end if;
  perform public.funding_open_campaign(v_pledge.campaign_id, v_now);
  insert into public.funding_billing_keys (pledge_id, customer_key, billing_key, billing_key_digest,
    method, card, issued_at)
  values (p_pledge_id, p_customer_key, p_billing_key, sha256(convert_to(p_billing_key, 'UTF8')),
    p_method,
    case when p_card is null then null else jsonb_build_object('number', p_card->>'number',
      'issuerCode', p_card->>'issuerCode', 'cardType', p_card->>'cardType') end,
    v_now);
  update public.funding_pledges set status = 'active', updated_at = v_now where id = p_pledge_id
    returning * into v_pledge;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- Gateway: card registration failed for a pending pledge: give its stock back.
create or replace function public.funding_pledge_abandon(p_pledge_id uuid, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_pledge public.funding_pledges;
begin
  v_pledge := public.funding_lock_pledge(p_pledge_id, null);
  if v_pledge.status = 'pending' then
    update public.funding_pledges set status = 'abandoned', updated_at = coalesce(p_now, now())
      where id = p_pledge_id returning * into v_pledge;
    update public.funding_tiers set remaining = remaining + v_pledge.quantity where id = v_pledge.tier_id;
  end if;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- Fan: change quantity or extra amount of an active pledge until the campaign ends.
create or replace function public.funding_pledge_change(
  p_fan_id uuid,
  p_pledge_id uuid,
  p_quantity integer,
  p_extra integer,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_pledge public.funding_pledges;
  v_delta integer;
  v_extra integer;
  v_amount bigint;
begin
  if p_quantity is not null and p_quantity not between 1 and 99 then
    perform public.funding_fail('invalid-quantity', 'quantity');
  end if;
  if p_extra is not null and p_extra not between 0 and 10000000 then
    perform public.funding_fail('invalid-amount', 'extraAmount');
  end if;
  v_pledge := public.funding_lock_pledge(p_pledge_id, p_fan_id);
  perform public.funding_open_campaign(v_pledge.campaign_id, v_now);
  if v_pledge.status <> 'active' then
    perform public.funding_fail('pledge-not-active', v_pledge.status);
  end if;
  v_delta := coalesce(p_quantity, v_pledge.quantity) - v_pledge.quantity;
  if v_delta > 0 then
    update public.funding_tiers set remaining = remaining - v_delta
      where id = v_pledge.tier_id and remaining >= v_delta;
    if not found then
      perform public.funding_fail('sold-out', 'quantity');
    end if;
  elsif v_delta < 0 then
    update public.funding_tiers set remaining = remaining - v_delta where id = v_pledge.tier_id;
  end if;
  v_extra := coalesce(p_extra, v_pledge.extra_krw);
  v_amount := v_pledge.unit_price_krw::bigint * coalesce(p_quantity, v_pledge.quantity) + v_extra;
  if v_amount > 2147483647 then
    perform public.funding_fail('amount-too-large', 'quantity');
  end if;
  update public.funding_pledges set quantity = coalesce(p_quantity, quantity), extra_krw = v_extra,
    amount_krw = v_amount::integer, updated_at = v_now
  where id = p_pledge_id returning * into v_pledge;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- Fan: cancel an active (or pending) pledge until the campaign ends; its card is queued for deletion.
create or replace function public.funding_pledge_cancel(
  p_fan_id uuid,
  p_pledge_id uuid,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_pledge public.funding_pledges;
begin
  v_pledge := public.funding_lock_pledge(p_pledge_id, p_fan_id);
  perform public.funding_open_campaign(v_pledge.campaign_id, v_now);
  if v_pledge.status not in ('active', 'pending') then
    perform public.funding_fail('pledge-not-active', v_pledge.status);
  end if;
  update public.funding_pledges set status = 'cancelled',
    work = case when exists (select 1 from public.funding_billing_keys where pledge_id = p_pledge_id)
      then 'delete-key' end,
    work_due_at = case when exists (select 1 from public.funding_billing_keys where pledge_id = p_pledge_id)
      then v_now end,
    updated_at = v_now
  where id = p_pledge_id returning * into v_pledge;
  update public.funding_tiers set remaining = remaining + v_pledge.quantity where id = v_pledge.tier_id;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- A fan's own pledge.
create or replace function public.funding_pledge_get(p_fan_id uuid, p_pledge_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_pledge public.funding_pledges;
begin
  select * into v_pledge from public.funding_pledges where id = p_pledge_id;
  if not found or (p_fan_id is not null and v_pledge.fan_id <> p_fan_id) then
    perform public.funding_fail('pledge-not-found', 'pledgeId');
  end if;
  return public.funding_pledge_json(v_pledge);
end
$$;

-- Completion work -------------------------------------------------------------------------------

-- Claim up to p_limit due work items (charges and card deletions) under a lease for p_owner:
-- FOR UPDATE SKIP LOCKED, so any number of workers share a run without waiting on each other; an
-- item whose lease expired (its worker died) is claimable again. A charge claimed with no open
-- attempt starts the next attempt (its row is written before anything is sent); one claimed with
-- an open attempt comes back with reconcile = true: the worker asks Toss by order id first.
create or replace function public.funding_work_claim(
  p_owner text,
  p_limit integer default 50,
  p_lease_seconds integer default 120,
  p_campaign_id uuid default null,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_items jsonb;
begin
  if p_owner is null or length(p_owner) not between 1 and 100 then
    perform public.funding_fail('invalid-argument', 'owner');
  end if;
  with due as (
    select id from public.funding_pledges
    where work is not null and work_due_at <= v_now
      and (lease_until is null or lease_until <= v_now)
      and (p_campaign_id is null or campaign_id = p_campaign_id)
    order by work_due_at, id
    limit least(greatest(p_limit, 1), 1000)
    for update skip locked
  ), claimed as (
    update public.funding_pledges p set
      lease_owner = p_owner,
      lease_until = v_now + make_interval(secs => greatest(p_lease_seconds, 5)),
      attempt = case when p.work = 'charge' and not p.attempt_open then p.attempt + 1 else p.attempt end,
      attempt_open = case when p.work = 'charge' then true else p.attempt_open end,
      updated_at = v_now
    from due where p.id = due.id
    returning p.*
  ), attempts as (
    insert into public.funding_charge_attempts (order_id, pledge_id, attempt, idempotency_key, amount_krw, created_at)
    select 'fc_' || replace(c.id::text, '-', '') || '_' || c.attempt,
      c.id, c.attempt, 'funding-charge-' || c.id || '-' || c.attempt, c.amount_krw, v_now
    from claimed c where c.work = 'charge'
    on conflict (pledge_id, attempt) do nothing
    returning order_id, pledge_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
    'pledgeId', c.id,
    'work', c.work,
    'attempt', c.attempt,
    'orderId', 'fc_' || replace(c.id::text, '-', '') || '_' || c.attempt,
    'idempotencyKey', 'funding-charge-' || c.id || '-' || c.attempt,
    -- The attempt row existed before this claim: it was sent (or may have been) already.
    'reconcile', c.work = 'charge' and not exists (select 1 from attempts a where a.pledge_id = c.id),
    'amount', c.amount_krw,
    'orderName', left(cp.title || ' - ' || t.name, 100),
    'customerKey', k.customer_key,
    'billingKey', k.billing_key,
    'unknowns', c.unknowns
  ) order by c.work_due_at, c.id), '[]'::jsonb) into v_items
  from claimed c
  join public.funding_campaigns cp on cp.id = c.campaign_id
  join public.funding_tiers t on t.id = c.tier_id
  left join public.funding_billing_keys k on k.pledge_id = c.id;
  return v_items;
end
$$;

-- Record the outcome of a charge attempt.
--   done: p_payment is the Payment Toss returned (charge response or lookup by order id); the
--         pledge is charged, an order and payment are recorded (so refund-process can refund it),
--         and the card is queued for deletion.
--   declined: Toss refused (card declined, key deleted...): the attempt is closed; the next one is
--         due at p_next_attempt_at, or, when p_final, the pledge fails and its stock is released.
--   unknown: no answer (timeout, 5xx): the attempt stays open and is reconciled at p_next_attempt_at.
-- Returns {outcome: 'charged' | 'retry' | 'failed' | 'pending' | 'stale', pledge}. A charge already
-- recorded answers 'charged' again; an outcome for an attempt that is no longer current is 'stale'.
create or replace function public.funding_charge_settle(
  p_pledge_id uuid,
  p_attempt integer,
  p_owner text,
  p_outcome text,
  p_payment jsonb default null,
  p_failure_code text default null,
  p_next_attempt_at timestamptz default null,
  p_final boolean default false,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_pledge public.funding_pledges;
  v_attempt public.funding_charge_attempts;
  v_order_uuid uuid := gen_random_uuid();
  v_title text;
  v_tier_name text;
  v_applied text;
  v_result text;
begin
  if p_outcome not in ('done', 'declined', 'unknown') then
    perform public.funding_fail('invalid-argument', 'outcome');
  end if;
  v_pledge := public.funding_lock_pledge(p_pledge_id, null);
  select * into v_attempt from public.funding_charge_attempts
    where pledge_id = p_pledge_id and attempt = p_attempt for update;
  if not found then
    perform public.funding_fail('invalid-argument', 'attempt');
  end if;
  if v_pledge.status = 'charged' then
    return jsonb_build_object('outcome', 'charged', 'replayed', true, 'pledge', public.funding_pledge_json(v_pledge));
  end if;

  if p_outcome = 'done' then
    if p_payment->>'orderId' is distinct from v_attempt.order_id
      or p_payment->>'status' is distinct from 'DONE'
      or (p_payment->>'totalAmount')::integer is distinct from v_attempt.amount_krw then
      perform public.funding_fail('charge-mismatch', format('Toss answered %s %s for %s',
        p_payment->>'status', p_payment->>'totalAmount', v_attempt.order_id));
    end if;
    select cp.title, t.name into v_title, v_tier_name from public.funding_campaigns cp
      join public.funding_tiers t on t.id = v_pledge.tier_id where cp.id = v_pledge.campaign_id;
    insert into public.orders (id, toss_order_id, user_id, items, order_name, amount_krw, created_at, updated_at)
    values (v_order_uuid, v_attempt.order_id, v_pledge.fan_id,
      jsonb_build_array(jsonb_build_object('productId', 'funding_' || replace(v_pledge.tier_id::text, '-', ''),
        'name', v_tier_name, 'quantity', v_pledge.quantity, 'unitPriceKrw', v_pledge.unit_price_krw,
        'extraKrw', v_pledge.extra_krw, 'lineTotalKrw', v_pledge.amount_krw,
        'campaignId', v_pledge.campaign_id, 'pledgeId', v_pledge.id)),
      left(v_title || ' - ' || v_tier_name, 100), v_attempt.amount_krw, v_now, v_now)
    on conflict (toss_order_id) do nothing;
    -- Settlement (0005): the campaign's creator is the seller of the reward, so the charge and
    -- any later refund of it reach the sales ledger through the order line, labelled 'funding'
    -- by funding_label_settlement_entry below.
    update public.funding_charge_attempts set payment_key = p_payment->>'paymentKey'
      where order_id = v_attempt.order_id;
    update public.order_lines l set creator_id = cp.creator_id
      from public.orders o, public.funding_campaigns cp
      where o.toss_order_id = v_attempt.order_id and l.order_id = o.id
        and cp.id = v_pledge.campaign_id and l.creator_id is null;
    v_applied := public.payment_apply_snapshot(p_payment);
    if v_applied not in ('applied', 'stale') then
      perform public.funding_fail('charge-mismatch', v_applied);
    end if;
    update public.funding_charge_attempts set status = 'done', payment_key = p_payment->>'paymentKey',
      settled_at = v_now, failure_code = null
      where order_id = v_attempt.order_id;
    update public.funding_pledges set status = 'charged', attempt = p_attempt, attempt_open = false,
      charged_at = coalesce((p_payment->>'approvedAt')::timestamptz, v_now),
      charge_order_id = v_attempt.order_id, last_failure_code = null,
      work = 'delete-key', work_due_at = v_now, lease_owner = null, lease_until = null, updated_at = v_now
      where id = p_pledge_id returning * into v_pledge;
    return jsonb_build_object('outcome', 'charged', 'replayed', false, 'pledge', public.funding_pledge_json(v_pledge));
  end if;

  -- A failure only counts from the worker holding the current attempt.
  if v_pledge.status <> 'active' or v_pledge.work is distinct from 'charge'
    or v_pledge.attempt <> p_attempt or v_pledge.lease_owner is distinct from p_owner then
    return jsonb_build_object('outcome', 'stale', 'pledge', public.funding_pledge_json(v_pledge));
  end if;

  if p_outcome = 'unknown' then
    update public.funding_pledges set unknowns = unknowns + 1,
      last_failure_code = left(coalesce(p_failure_code, 'UNKNOWN'), 64),
      work_due_at = coalesce(p_next_attempt_at, v_now + interval '1 minute'),
      lease_owner = null, lease_until = null, updated_at = v_now
      where id = p_pledge_id returning * into v_pledge;
    return jsonb_build_object('outcome', 'pending', 'pledge', public.funding_pledge_json(v_pledge));
  end if;

  update public.funding_charge_attempts set status = 'declined', settled_at = v_now,
    failure_code = left(coalesce(p_failure_code, 'UNKNOWN'), 64)
    where order_id = v_attempt.order_id;
  if p_final or p_next_attempt_at is null then
    update public.funding_pledges set status = 'charge-failed', attempt_open = false,
      declines = declines + 1, unknowns = 0, last_failure_code = left(coalesce(p_failure_code, 'UNKNOWN'), 64),
      work = 'delete-key', work_due_at = v_now, lease_owner = null, lease_until = null, updated_at = v_now
      where id = p_pledge_id returning * into v_pledge;
    update public.funding_tiers set remaining = remaining + v_pledge.quantity where id = v_pledge.tier_id;
    v_result := 'failed';
  else
    update public.funding_pledges set attempt_open = false, declines = declines + 1, unknowns = 0,
      last_failure_code = left(coalesce(p_failure_code, 'UNKNOWN'), 64),
      work_due_at = p_next_attempt_at, lease_owner = null, lease_until = null, updated_at = v_now
      where id = p_pledge_id returning * into v_pledge;
    v_result := 'retry';
  end if;
  return jsonb_build_object('outcome', v_result, 'pledge', public.funding_pledge_json(v_pledge));
end
$$;

-- Record the outcome of a card deletion: 'deleted' (also when Toss no longer knows the key) or
-- 'retry' at p_next_attempt_at.
create or replace function public.funding_key_settle(
  p_pledge_id uuid,
  p_owner text,
  p_outcome text,
  p_reason text default null,
  p_next_attempt_at timestamptz default null,
  p_now timestamptz default null
)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_pledge public.funding_pledges;
begin
  if p_outcome not in ('deleted', 'retry') then
    perform public.funding_fail('invalid-argument', 'outcome');
  end if;
  v_pledge := public.funding_lock_pledge(p_pledge_id, null);
  if v_pledge.work is distinct from 'delete-key' or v_pledge.lease_owner is distinct from p_owner then
    return 'stale';
  end if;
  if p_outcome = 'deleted' then
    update public.funding_billing_keys set billing_key = null, deleted_at = coalesce(deleted_at, v_now),
      delete_reason = coalesce(delete_reason, left(coalesce(p_reason, 'deleted'), 200))
      where pledge_id = p_pledge_id;
    update public.funding_pledges set work = null, work_due_at = null, lease_owner = null,
      lease_until = null, updated_at = v_now where id = p_pledge_id;
    return 'deleted';
  end if;
  update public.funding_pledges set work_due_at = coalesce(p_next_attempt_at, v_now + interval '5 minutes'),
    lease_owner = null, lease_until = null, updated_at = v_now where id = p_pledge_id;
  return 'retry';
end
$$;

-- Webhooks ----------------------------------------------------------------------------------------

-- Dedupe a funding webhook delivery before anything else is done with it. Returns 'new' (the
-- caller now holds it for p_lease_seconds), 'duplicate' (finished before) or 'in-progress'
-- (another delivery of the same event is being processed). A delivery whose processing failed,
-- or whose holder vanished, is taken over.
create or replace function public.funding_webhook_begin(
  p_event_id text,
  p_event_type text,
  p_lease_seconds integer default 30
)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_event public.funding_webhook_events;
begin
  if p_event_id is null or length(p_event_id) not between 1 and 200 then
    perform public.funding_fail('invalid-event', 'eventId');
  end if;
  insert into public.funding_webhook_events (event_id, event_type, lease_until)
  values (p_event_id, left(p_event_type, 64), now() + make_interval(secs => p_lease_seconds))
  on conflict (event_id) do nothing;
  if found then
    return 'new';
  end if;
  select * into v_event from public.funding_webhook_events where event_id = p_event_id for update;
  if v_event.outcome = 'processing' and v_event.lease_until > now() then
    return 'in-progress';
  end if;
  if v_event.outcome in ('processing', 'failed') then
    update public.funding_webhook_events set outcome = 'processing',
      lease_until = now() + make_interval(secs => p_lease_seconds) where event_id = p_event_id;
    return 'new';
  end if;
  return 'duplicate';
end
$$;

create or replace function public.funding_webhook_finish(p_event_id text, p_outcome text)
returns void
language sql
security definer
set search_path = public, pg_temp
as $$
  update public.funding_webhook_events set outcome = left(p_outcome, 64), lease_until = null,
    finished_at = now()
  where event_id = p_event_id
$$;

-- BILLING_DELETED: the card was removed at Toss. A key we do not know is ignored. An active
-- pledge keeps its place but can no longer be charged until the fan registers a card again.
create or replace function public.funding_billing_key_deleted(p_billing_key text, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_pledge_id uuid;
begin
  update public.funding_billing_keys set billing_key = null, deleted_at = coalesce(deleted_at, now()),
    delete_reason = coalesce(delete_reason, left(coalesce(p_reason, 'BILLING_DELETED'), 200))
  where billing_key_digest = sha256(convert_to(p_billing_key, 'UTF8'))
  returning pledge_id into v_pledge_id;
  if v_pledge_id is null then
    return 'unknown-key';
  end if;
  update public.funding_pledges set work = null, work_due_at = null, lease_owner = null, lease_until = null,
    updated_at = now()
    where id = v_pledge_id and work = 'delete-key';
  return 'applied';
end
$$;

-- The open charge attempt an order id belongs to, for webhook reconciliation (null when none).
create or replace function public.funding_charge_attempt_get(p_order_id text)
returns jsonb
language sql
security definer
set search_path = public, pg_temp
as $$
  select jsonb_build_object('pledgeId', a.pledge_id, 'attempt', a.attempt, 'status', a.status,
    'pledgeStatus', p.status, 'attemptOpen', p.attempt_open and p.attempt = a.attempt,
    'leaseOwner', p.lease_owner)
  from public.funding_charge_attempts a join public.funding_pledges p on p.id = a.pledge_id
  where a.order_id = p_order_id
$$;

-- Sales for settlement ------------------------------------------------------------------------------
--
-- Funding charges feed public.settlement_sales (0005) through settlement_entries: the charge is an
-- order whose line carries the campaign's creator (funding_charge_settle), so the payments and
-- refunds triggers of 0005 write its sale and refund entries like any order's; this trigger labels
-- them source = 'funding'. The view stays 0005's, re-created here with the same columns so the
-- contract is stated where funding relies on it.

create index if not exists funding_charge_attempts_payment
  on public.funding_charge_attempts (payment_key) where payment_key is not null;

create or replace function public.funding_label_settlement_entry()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  if exists (select 1 from public.funding_charge_attempts where payment_key = new.source_ref) then
    new.source := 'funding';
  end if;
  return new;
end
$$;

drop trigger if exists settlement_entries_funding_source on public.settlement_entries;
create trigger settlement_entries_funding_source before insert on public.settlement_entries
  for each row execute function public.funding_label_settlement_entry();

create or replace view public.settlement_sales as
select creator_id, source, entry_id, kind, amount_krw, occurred_at, sale_occurred_at
from public.settlement_entries;

revoke execute on function public.funding_label_settlement_entry() from public, anon, authenticated;

-- Execution: service_role only --------------------------------------------------------------------

do $$
declare
  v_fn text;
begin
  foreach v_fn in array array[
    'public.funding_fail(text, text)',
    'public.funding_kst(timestamptz)',
    'public.funding_campaign_json(public.funding_campaigns)',
    'public.funding_record_transition(uuid, text, text, text, text, text, jsonb, timestamptz)',
    'public.funding_lock_campaign(uuid, uuid)',
    'public.funding_transition(public.funding_campaigns, text[], text, text, text, text, jsonb, timestamptz)',
    'public.funding_write_content(uuid, jsonb, timestamptz)',
    'public.funding_campaign_save(uuid, uuid, jsonb, timestamptz)',
    'public.funding_campaign_submit(uuid, uuid, jsonb, timestamptz)',
    'public.funding_campaign_review(text, uuid, text, text, timestamptz)',
    'public.funding_release_pledges(uuid, timestamptz)',
    'public.funding_campaign_cancel(text, uuid, text, timestamptz)',
    'public.funding_campaign_go_live(uuid, timestamptz)',
    'public.funding_campaign_end(uuid, timestamptz)',
    'public.funding_campaign_decide(text, uuid, timestamptz)',
    'public.funding_tick(timestamptz, integer, integer)',
    'public.funding_campaign_get(uuid, uuid)',
    'public.funding_campaign_progress(uuid, timestamptz)',
    'public.funding_pledge_json(public.funding_pledges)',
    'public.funding_open_campaign(uuid, timestamptz)',
    'public.funding_pledge_reserve(uuid, uuid, uuid, integer, integer, timestamptz)',
    'public.funding_lock_pledge(uuid, uuid)',
    'public.funding_pledge_activate(uuid, uuid, text, text, text, jsonb, timestamptz)',
    'public.funding_pledge_abandon(uuid, timestamptz)',
    'public.funding_pledge_change(uuid, uuid, integer, integer, timestamptz)',
    'public.funding_pledge_cancel(uuid, uuid, timestamptz)',
    'public.funding_pledge_get(uuid, uuid)',
    'public.funding_work_claim(text, integer, integer, uuid, timestamptz)',
    'public.funding_charge_settle(uuid, integer, text, text, jsonb, text, timestamptz, boolean, timestamptz)',
    'public.funding_key_settle(uuid, text, text, text, timestamptz, timestamptz)',
    'public.funding_webhook_begin(text, text, integer)',
    'public.funding_webhook_finish(text, text)',
    'public.funding_billing_key_deleted(text, text)',
    'public.funding_charge_attempt_get(text)'
  ] loop
    execute format('revoke execute on function %s from public, anon, authenticated', v_fn);
    execute format('grant execute on function %s to service_role', v_fn);
  end loop;
end
$$;
