-- Money never moves twice: one sender per refund (a lease on the row), outcomes recorded
-- honestly (unknown stays pending), refunds settled by Toss transaction key, webhook deliveries
-- claimed before Toss is asked, and refund_reserve locking before it looks up the client key.
-- Contracts: docs/data-model.md ("Refund states", "The refund retry path").
--
-- Re-runnable like 0001 (if not exists / or replace). Signatures of functions that existed in
-- 0001 are unchanged, so legacy functions calling them keep working.

-- Refunds: the sender's lease and what the last attempt saw ----------------------------------

alter table public.refunds add column if not exists attempts integer not null default 0;
-- Whoever holds an unexpired lease is the only one allowed to call Toss for this refund.
alter table public.refunds add column if not exists lease_token uuid;
alter table public.refunds add column if not exists lease_until timestamptz;
alter table public.refunds add column if not exists last_attempt_at timestamptz;
-- The Toss code (or TIMEOUT, UNAVAILABLE, ...) of the last attempt whose outcome was not final.
alter table public.refunds add column if not exists last_error text;
-- Bumped after a refusal that proves Toss cancelled nothing (FORBIDDEN_CONSECUTIVE_REQUEST,
-- PROVIDER_ERROR), so the next send is not answered from Toss's idempotency store with that
-- refusal again. Never bumped after an unknown outcome: those resends must carry the same key.
alter table public.refunds add column if not exists key_generation integer not null default 0;
-- Not before this time: Toss asked us to wait (FORBIDDEN_CONSECUTIVE_REQUEST, PROVIDER_ERROR).
alter table public.refunds add column if not exists next_attempt_at timestamptz;

do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'refunds_last_error_length') then
    alter table public.refunds add constraint refunds_last_error_length
      check (last_error is null or length(last_error) <= 64);
  end if;
end
$$;

-- Webhook deliveries: a claim while the delivery is being processed ----------------------------

-- A row with outcome 'received' is a claim: the delivery is being processed until
-- claimed_until; after that a redelivery may take it over.
alter table public.payment_events add column if not exists claimed_until timestamptz;

-- Refund JSON (adds the retry fields) ----------------------------------------------------------

create or replace function public.refund_json(p_refund public.refunds, p_replayed boolean)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'refundId', p_refund.id,
    'idempotencyKey', p_refund.idempotency_key,
    -- The Idempotency-Key the next cancel of this refund carries.
    'tossIdempotencyKey', case when p_refund.key_generation = 0 then p_refund.idempotency_key
      else p_refund.idempotency_key || '_' || p_refund.key_generation end,
    'paymentKey', p_refund.payment_key,
    'amount', p_refund.amount,
    'fullCancel', p_refund.full_cancel,
    'refundableAmount', p_refund.refundable_amount,
    'reason', p_refund.reason,
    'status', p_refund.status,
    'transactionKey', p_refund.toss_transaction_key,
    'failureCode', p_refund.failure_code,
    'createdAt', p_refund.created_at,
    'settledAt', p_refund.settled_at,
    'replayed', p_replayed,
    'attempts', p_refund.attempts,
    'lastError', p_refund.last_error,
    'nextAttemptAt', p_refund.next_attempt_at,
    'leaseUntil', p_refund.lease_until,
    'balanceAmount', (select balance_amount from public.payments where payment_key = p_refund.payment_key),
    'paymentStatus', (select status from public.payments where payment_key = p_refund.payment_key),
    'method', (select method from public.payments where payment_key = p_refund.payment_key)
  )
$$;

-- Reserve: lock the payment first, then look up the client key ---------------------------------

-- Same contract as 0001. The payment row is locked before the caller's Idempotency-Key is
-- looked up, so a same-key request waiting behind another one sees that refund (and replays
-- it) instead of inserting a second row; a unique violation that still happens (the same key
-- raced for two different payments, or a second pending refund) becomes a stable code.
create or replace function public.refund_reserve(
  p_payment_key text,
  p_user_id uuid,
  p_amount integer,
  p_reason text,
  p_is_ops boolean,
  p_client_key text default null,
  p_refund_account jsonb default null,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_requester text := coalesce(p_user_id::text, 'service');
  v_refund public.refunds;
  v_pay public.payments;
  v_pay_found boolean;
  v_owner uuid;
  v_pending integer;
  v_refundable integer;
  v_amount integer;
  v_now timestamptz := coalesce(p_now, now());
  v_constraint text;
begin
  if p_amount is not null and p_amount <= 0 then
    raise exception using errcode = 'P0001', message = 'invalid-amount: cancelAmount';
  end if;
  if p_reason is null or length(p_reason) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-reason: cancelReason';
  end if;
  if p_client_key is not null and (length(p_client_key) > 300 or p_client_key !~ '^[\x20-\x7e]+$') then
    raise exception using errcode = 'P0001', message = 'invalid-idempotency-key: header:idempotency-key';
  end if;
  if p_payment_key is null or length(p_payment_key) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'payment-not-found: paymentKey';
  end if;
  if not coalesce(p_is_ops, false) and p_user_id is null then
    raise exception using errcode = 'P0001', message = 'payment-not-found: paymentKey';
  end if;

  -- Lock first: every reservation of this payment queues here.
  select * into v_pay from public.payments where payment_key = p_payment_key for update;
  v_pay_found := found;

  if p_client_key is not null then
    select * into v_refund from public.refunds
      where requester = v_requester and client_idempotency_key = p_client_key;
    if found then
      if v_refund.payment_key <> p_payment_key
        or (p_amount is null) <> v_refund.full_cancel
        or (p_amount is not null and p_amount <> v_refund.amount) then
        raise exception using errcode = 'P0001', message = 'idempotency-key-reused: header:idempotency-key';
      end if;
      return public.refund_json(v_refund, true);
    end if;
  end if;

  if v_pay_found then
    select user_id into v_owner from public.orders where id = v_pay.order_id;
  end if;
  -- Not distinguishing "absent" from "someone else's" keeps payment keys unenumerable.
  if not v_pay_found or (not coalesce(p_is_ops, false) and v_owner is distinct from p_user_id) then
    raise exception using errcode = 'P0001', message = 'payment-not-found: paymentKey';
  end if;
  if v_pay.status not in ('DONE', 'PARTIAL_CANCELED') then
    raise exception using errcode = 'P0001', message = format('not-refundable: payment is %s', v_pay.status);
  end if;
  if not coalesce(p_is_ops, false)
    and (v_pay.approved_at is null or v_pay.approved_at < v_now - interval '7 days') then
    raise exception using errcode = 'P0001', message = 'refund-window-closed: owners may refund within 7 days of approval';
  end if;
  select coalesce(sum(amount), 0) into v_pending from public.refunds
    where payment_key = p_payment_key and status = 'pending';
  if v_pending > 0 then
    raise exception using errcode = 'P0001', message = 'refund-in-progress: another refund of this payment is pending';
  end if;
  v_refundable := v_pay.balance_amount - v_pending;
  if v_refundable <= 0 then
    raise exception using errcode = 'P0001', message = 'not-refundable: nothing left to refund';
  end if;
  v_amount := coalesce(p_amount, v_refundable);
  if v_amount > v_refundable then
    raise exception using errcode = 'P0001', message = format('exceeds-refundable: cancelAmount (refundable %s)', v_refundable);
  end if;
  if v_pay.method = '가상계좌' and p_refund_account is null then
    raise exception using errcode = 'P0001', message = 'refund-account-required: refundReceiveAccount';
  end if;

  begin
    insert into public.refunds (payment_key, requester, requester_is_ops, client_idempotency_key,
      amount, full_cancel, refundable_amount, reason, refund_account)
    values (p_payment_key, v_requester, coalesce(p_is_ops, false), p_client_key, v_amount,
      p_amount is null, v_refundable, p_reason,
      case when p_refund_account is null then null else jsonb_build_object(
        'bank', left(p_refund_account->>'bank', 20),
        'accountNumberLast4', right(p_refund_account->>'accountNumber', 4)) end)
    returning * into v_refund;
  exception when unique_violation then
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint = 'refunds_client_idempotency_key' then
      raise exception using errcode = 'P0001', message = 'idempotency-key-reused: header:idempotency-key';
    end if;
    if v_constraint = 'refunds_one_pending_per_payment' then
      raise exception using errcode = 'P0001', message = 'refund-in-progress: another refund of this payment is pending';
    end if;
    raise;
  end;
  return public.refund_json(v_refund, false);
end
$$;

-- The sender's lease ---------------------------------------------------------------------------

-- Take the right to send this refund to Toss for p_lease_seconds. Returns
-- {claimed: true, token, refund} for the one caller that gets it, or {claimed: false,
-- retryAfterSeconds, refund} while another sender holds it, Toss asked us to wait
-- (next_attempt_at), or the refund is settled already.
-- Errors: refund-not-found, invalid-argument.
create or replace function public.refund_claim(p_refund_id uuid, p_lease_seconds integer)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
  v_wait numeric;
begin
  if p_lease_seconds is null or p_lease_seconds not between 1 and 3600 then
    raise exception using errcode = 'P0001', message = 'invalid-argument: lease seconds must be 1-3600';
  end if;
  select * into v_refund from public.refunds where id = p_refund_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  if v_refund.status <> 'pending' then
    return jsonb_build_object('claimed', false, 'refund', public.refund_json(v_refund, true));
  end if;
  v_wait := greatest(
    extract(epoch from coalesce(v_refund.lease_until, now()) - now()),
    extract(epoch from coalesce(v_refund.next_attempt_at, now()) - now()),
    0);
  if v_wait > 0 then
    return jsonb_build_object('claimed', false, 'retryAfterSeconds', ceil(v_wait)::integer,
      'refund', public.refund_json(v_refund, true));
  end if;
  update public.refunds set
    lease_token = gen_random_uuid(),
    lease_until = now() + make_interval(secs => p_lease_seconds),
    attempts = attempts + 1,
    last_attempt_at = now(),
    next_attempt_at = null
  where id = p_refund_id
  returning * into v_refund;
  return jsonb_build_object('claimed', true, 'token', v_refund.lease_token,
    'refund', public.refund_json(v_refund, false));
end
$$;

-- Give the lease back with the refund still pending: the outcome of this attempt is unknown
-- (timeout, 5xx, lost connection) or Toss asked us to wait (p_retry_after_seconds; with
-- p_fresh_key, its refusal proved nothing was cancelled and the next send gets a new key).
-- A caller whose lease was taken over changes nothing. Returns the refund.
create or replace function public.refund_release(
  p_refund_id uuid,
  p_token uuid,
  p_error text,
  p_retry_after_seconds integer default null,
  p_fresh_key boolean default false
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
begin
  update public.refunds set
    lease_token = null,
    lease_until = null,
    last_error = left(p_error, 64),
    key_generation = key_generation + case when coalesce(p_fresh_key, false) then 1 else 0 end,
    next_attempt_at = case when coalesce(p_retry_after_seconds, 0) > 0
      then now() + make_interval(secs => least(p_retry_after_seconds, 3600)) else null end
  where id = p_refund_id and status = 'pending' and lease_token = p_token
  returning * into v_refund;
  if not found then
    select * into v_refund from public.refunds where id = p_refund_id;
    if not found then
      raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
    end if;
  end if;
  return public.refund_json(v_refund, false);
end
$$;

-- Settle by transaction key --------------------------------------------------------------------

-- Record a refund as done from a Payment object Toss returned, naming the cancel that is this
-- refund's by its transactionKey (the lastTransactionKey of the answer to this refund's own
-- Idempotency-Key). The key must be among the payment's cancels, belong to no other refund,
-- and cancel this refund's amount; the amount is a check, never the way the cancel is chosen.
-- Anyone may record a done refund (Toss's answer is the truth, whoever holds the lease).
-- Errors: refund-not-found, invalid-argument, refund-mismatch, refund-already-settled.
create or replace function public.refund_settle_done(
  p_refund_id uuid,
  p_payment jsonb,
  p_transaction_key text
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
  v_payment_key text;
  v_cancel jsonb;
begin
  if jsonb_typeof(p_payment) is distinct from 'object' then
    raise exception using errcode = 'P0001', message = 'invalid-argument: a done refund needs the Toss payment';
  end if;
  if p_transaction_key is null or length(p_transaction_key) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-argument: a done refund needs its transaction key';
  end if;
  select payment_key into v_payment_key from public.refunds where id = p_refund_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  if p_payment->>'paymentKey' is distinct from v_payment_key then
    raise exception using errcode = 'P0001', message = 'invalid-argument: payment does not match the refund';
  end if;
  -- Same lock order as refund_reserve and the webhooks (payment, then refund): no deadlocks.
  perform 1 from public.payments where payment_key = v_payment_key for update;
  select * into v_refund from public.refunds where id = p_refund_id for update;

  if v_refund.status = 'done' then
    if v_refund.toss_transaction_key = p_transaction_key then
      return public.refund_json(v_refund, true);
    end if;
    raise exception using errcode = 'P0001', message = 'refund-already-settled: done with another transaction';
  end if;
  if v_refund.status <> 'pending' then
    raise exception using errcode = 'P0001', message = format('refund-already-settled: %s', v_refund.status);
  end if;

  select c into v_cancel
    from jsonb_array_elements(case when jsonb_typeof(p_payment->'cancels') = 'array'
      then p_payment->'cancels' else '[]'::jsonb end) as c
    where c->>'transactionKey' = p_transaction_key;
  if v_cancel is null then
    raise exception using errcode = 'P0001', message = 'refund-mismatch: the transaction is not a cancel of this payment';
  end if;
  if jsonb_typeof(v_cancel->'cancelAmount') is distinct from 'number'
    or (v_cancel->>'cancelAmount')::numeric <> v_refund.amount then
    raise exception using errcode = 'P0001', message = 'refund-mismatch: the cancel is not of this refund''s amount';
  end if;
  if exists (select 1 from public.refunds where payment_key = v_payment_key
      and toss_transaction_key = p_transaction_key and id <> p_refund_id) then
    raise exception using errcode = 'P0001', message = 'refund-mismatch: the transaction belongs to another refund';
  end if;

  perform public.payment_apply_snapshot(p_payment);
  update public.refunds set status = 'done', settled_at = now(),
    toss_transaction_key = p_transaction_key,
    lease_token = null, lease_until = null, last_error = null, next_attempt_at = null
    where id = p_refund_id returning * into v_refund;
  return public.refund_json(v_refund, false);
end
$$;

-- Record a definitive refusal from Toss. Only the lease holder may: a refusal seen by a sender
-- whose lease was taken over says nothing final. The client's key stays attached, so a repeat
-- answers the same refusal. Returns the refund (still pending when the lease was lost).
-- Errors: refund-not-found, refund-already-settled.
create or replace function public.refund_settle_failed(
  p_refund_id uuid,
  p_token uuid,
  p_failure_code text
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
begin
  select * into v_refund from public.refunds where id = p_refund_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  if v_refund.status = 'failed' then
    return public.refund_json(v_refund, true);
  end if;
  if v_refund.status <> 'pending' then
    raise exception using errcode = 'P0001', message = format('refund-already-settled: %s', v_refund.status);
  end if;
  if v_refund.lease_token is distinct from p_token then
    return public.refund_json(v_refund, true);
  end if;
  update public.refunds set status = 'failed', settled_at = now(),
    failure_code = left(coalesce(p_failure_code, 'unknown'), 64),
    lease_token = null, lease_until = null, next_attempt_at = null
    where id = p_refund_id returning * into v_refund;
  return public.refund_json(v_refund, false);
end
$$;

-- 0001's refund_settle, kept for callers of that contract. Settling again with the outcome a
-- refund already has returns it (replayed); the other outcome is refund-already-settled. A
-- `done` names the cancel by the answer's lastTransactionKey (never by amount), through
-- refund_settle_done. `failed` with p_release_client_key (which 0001 used for temporary
-- failures) no longer fails the refund nor frees the caller's key: the outcome is not final,
-- so the refund stays pending and a repeat with the same key resumes it.
create or replace function public.refund_settle(
  p_refund_id uuid,
  p_outcome text,
  p_payment jsonb default null,
  p_failure_code text default null,
  p_release_client_key boolean default false
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
begin
  if p_outcome not in ('done', 'failed') then
    raise exception using errcode = 'P0001', message = 'invalid-argument: outcome must be done or failed';
  end if;
  select * into v_refund from public.refunds where id = p_refund_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  if v_refund.status = p_outcome then
    return public.refund_json(v_refund, true);
  end if;
  if v_refund.status <> 'pending' then
    raise exception using errcode = 'P0001', message = format('refund-already-settled: %s', v_refund.status);
  end if;
  if p_outcome = 'done' then
    return public.refund_settle_done(p_refund_id, p_payment, p_payment->>'lastTransactionKey');
  end if;
  -- Same lock order as everything else: payment, then refund.
  perform 1 from public.payments where payment_key = v_refund.payment_key for update;
  select * into v_refund from public.refunds where id = p_refund_id for update;
  if v_refund.status <> 'pending' then
    if v_refund.status = p_outcome then
      return public.refund_json(v_refund, true);
    end if;
    raise exception using errcode = 'P0001', message = format('refund-already-settled: %s', v_refund.status);
  end if;
  if coalesce(p_release_client_key, false) then
    update public.refunds set last_error = left(coalesce(p_failure_code, 'unknown'), 64),
      lease_token = null, lease_until = null
      where id = p_refund_id returning * into v_refund;
    return public.refund_json(v_refund, false);
  end if;
  update public.refunds set status = 'failed', settled_at = now(),
    failure_code = left(coalesce(p_failure_code, 'unknown'), 64),
    lease_token = null, lease_until = null, next_attempt_at = null
    where id = p_refund_id returning * into v_refund;
  return public.refund_json(v_refund, false);
end
$$;

-- Pending refunds the retry job may take now: not leased, not asked to wait, older than
-- p_older_than_seconds; oldest first.
create or replace function public.refund_pending_list(
  p_older_than_seconds integer default 60,
  p_limit integer default 100
)
returns jsonb
language sql
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(public.refund_json(r, true) order by r.created_at), '[]'::jsonb)
  from (
    select * from public.refunds
    where status = 'pending'
      and created_at <= now() - make_interval(secs => greatest(p_older_than_seconds, 0))
      and (lease_until is null or lease_until <= now())
      and (next_attempt_at is null or next_attempt_at <= now())
    order by created_at
    limit least(greatest(p_limit, 1), 1000)
  ) as r
$$;

-- Webhooks: claim before asking Toss ------------------------------------------------------------

-- Claim a delivery before the payment is fetched from Toss. Returns 'claimed' (go on),
-- 'duplicate' (already applied: answer 200 without calling Toss) or 'in-flight' (another
-- request holds the claim: answer non-200 so Toss delivers again later).
create or replace function public.webhook_claim_event(
  p_event_id text,
  p_event_type text,
  p_payment_key text,
  p_order_id text,
  p_lease_seconds integer default 60
)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_event public.payment_events;
begin
  if p_event_id is null or length(p_event_id) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-event: eventId';
  end if;
  if p_event_type is null or length(p_event_type) not between 1 and 64 then
    raise exception using errcode = 'P0001', message = 'invalid-event: eventType';
  end if;
  insert into public.payment_events (event_id, event_type, payment_key, toss_order_id, claimed_until)
  values (p_event_id, p_event_type, left(p_payment_key, 200), left(p_order_id, 64),
    now() + make_interval(secs => least(greatest(coalesce(p_lease_seconds, 60), 1), 3600)))
  on conflict (event_id) do nothing;
  if found then
    return 'claimed';
  end if;
  select * into v_event from public.payment_events where event_id = p_event_id for update;
  if v_event.outcome <> 'received' then
    return 'duplicate';
  end if;
  if v_event.claimed_until > now() then
    return 'in-flight';
  end if;
  update public.payment_events set
    claimed_until = now() + make_interval(secs => least(greatest(coalesce(p_lease_seconds, 60), 1), 3600))
  where event_id = p_event_id;
  return 'claimed';
end
$$;

-- Drop a claim whose processing failed (Toss unreachable): the redelivery starts afresh.
create or replace function public.webhook_release_event(p_event_id text)
returns void
language sql
security definer
set search_path = public, pg_temp
as $$
  delete from public.payment_events where event_id = p_event_id and outcome = 'received'
$$;

-- Same contract as 0001; a delivery claimed by webhook_claim_event is applied here (once).
create or replace function public.webhook_apply_payment_event(
  p_event_id text,
  p_event_type text,
  p_payment jsonb
)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_outcome text;
  v_existing text;
begin
  if p_event_id is null or length(p_event_id) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-event: eventId';
  end if;
  insert into public.payment_events (event_id, event_type, payment_key, toss_order_id, status)
  values (p_event_id, p_event_type, p_payment->>'paymentKey', p_payment->>'orderId', p_payment->>'status')
  on conflict (event_id) do nothing;
  if not found then
    select outcome into v_existing from public.payment_events where event_id = p_event_id for update;
    if v_existing <> 'received' then
      return 'duplicate';
    end if;
    update public.payment_events set payment_key = p_payment->>'paymentKey',
      toss_order_id = p_payment->>'orderId', status = p_payment->>'status'
      where event_id = p_event_id;
  end if;
  v_outcome := public.payment_apply_snapshot(p_payment);
  update public.payment_events set outcome = v_outcome, claimed_until = null
    where event_id = p_event_id;
  return v_outcome;
end
$$;

-- Execution: service_role only ----------------------------------------------------------------

revoke execute on function
  public.refund_json(public.refunds, boolean),
  public.refund_reserve(text, uuid, integer, text, boolean, text, jsonb, timestamptz),
  public.refund_claim(uuid, integer),
  public.refund_release(uuid, uuid, text, integer, boolean),
  public.refund_settle_done(uuid, jsonb, text),
  public.refund_settle_failed(uuid, uuid, text),
  public.refund_settle(uuid, text, jsonb, text, boolean),
  public.refund_pending_list(integer, integer),
  public.webhook_claim_event(text, text, text, text, integer),
  public.webhook_release_event(text),
  public.webhook_apply_payment_event(text, text, jsonb)
from public, anon, authenticated;

grant execute on function
  public.refund_json(public.refunds, boolean),
  public.refund_reserve(text, uuid, integer, text, boolean, text, jsonb, timestamptz),
  public.refund_claim(uuid, integer),
  public.refund_release(uuid, uuid, text, integer, boolean),
  public.refund_settle_done(uuid, jsonb, text),
  public.refund_settle_failed(uuid, uuid, text),
  public.refund_settle(uuid, text, jsonb, text, boolean),
  public.refund_pending_list(integer, integer),
  public.webhook_claim_event(text, text, text, text, integer),
  public.webhook_release_event(text),
  public.webhook_apply_payment_event(text, text, jsonb)
to service_role;
