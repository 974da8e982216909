-- Payments: catalog, orders, Toss payments, webhook events and refunds.
--
-- Every money movement is one SQL function below, executable only by service_role, so the
-- gateway (supabase-js rpc, node-postgres or PGlite) and the legacy Edge Functions that share
-- this database make the same atomic changes. Contracts: docs/data-model.md.
--
-- Re-runnable on purpose (if not exists / or replace): Supabase's CLI and our own migrator
-- track applied files in different tables, and applying twice must not fail.
-- Money is integer KRW throughout.

-- Catalog --------------------------------------------------------------------------------------

create table if not exists public.products (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name text not null check (length(name) between 1 and 100),
  price_krw integer not null check (price_krw > 0),
  currency text not null default 'KRW' check (currency = 'KRW'),
  active boolean not null default true,
  created_at timestamptz not null default now()
);

-- Toss customers -------------------------------------------------------------------------------

-- customerKey must not be guessable from the user (Toss asks for a random value such as a
-- UUID, never an email or user id), yet stable per user so saved methods stay attached.
create table if not exists public.toss_customers (
  user_id uuid primary key,
  customer_key text not null unique
    default ('ck_' || replace(gen_random_uuid()::text, '-', ''))
    check (customer_key ~ '^[A-Za-z0-9_=.@-]{2,50}$'),
  created_at timestamptz not null default now()
);

-- Orders ---------------------------------------------------------------------------------------

create table if not exists public.orders (
  id uuid primary key default gen_random_uuid(),
  -- The orderId Toss sees: 6-64 characters of [A-Za-z0-9_-].
  toss_order_id text not null unique check (toss_order_id ~ '^[A-Za-z0-9_-]{6,64}$'),
  user_id uuid not null,
  -- [{productId, name, quantity, unitPriceKrw, lineTotalKrw}], priced from the catalog.
  items jsonb not null check (jsonb_typeof(items) = 'array'),
  order_name text not null check (length(order_name) between 1 and 100),
  amount_krw integer not null check (amount_krw > 0),
  currency text not null default 'KRW' check (currency = 'KRW'),
  status text not null default 'READY' check (status in (
    'READY', 'IN_PROGRESS', 'WAITING_FOR_DEPOSIT', 'DONE', 'CANCELED', 'PARTIAL_CANCELED',
    'ABORTED', 'EXPIRED'
  )),
  idempotency_key text check (length(idempotency_key) <= 300 and idempotency_key ~ '^[\x20-\x7e]+$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- NULL keys are distinct, so orders without a key never collide.
  constraint orders_user_idempotency_key unique (user_id, idempotency_key)
);

create index if not exists orders_user_created on public.orders (user_id, created_at desc);

-- Payments (one per Toss paymentKey) -----------------------------------------------------------

create table if not exists public.payments (
  payment_key text primary key check (length(payment_key) between 1 and 200),
  order_id uuid not null unique references public.orders (id),
  status text not null check (status in (
    'READY', 'IN_PROGRESS', 'WAITING_FOR_DEPOSIT', 'DONE', 'CANCELED', 'PARTIAL_CANCELED',
    'ABORTED', 'EXPIRED'
  )),
  -- Toss's method name as returned (카드, 가상계좌, 간편결제, ...).
  method text,
  total_amount integer not null check (total_amount >= 0),
  balance_amount integer not null check (balance_amount >= 0 and balance_amount <= total_amount),
  -- Returned by confirm for virtual accounts; DEPOSIT_CALLBACK must present the same value.
  secret text,
  approved_at timestamptz,
  -- Latest of approvedAt / cancels[].canceledAt / deposit createdAt seen so far: events older
  -- than this are stale.
  last_transaction_at timestamptz,
  last_transaction_key text,
  version integer not null default 1 check (version > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Webhook events (dedupe and audit) ------------------------------------------------------------

create table if not exists public.payment_events (
  id bigint generated always as identity primary key,
  -- tosspayments-webhook-transmission-id, or a hash of the event's identity when absent.
  event_id text not null unique check (length(event_id) between 1 and 200),
  event_type text not null check (length(event_type) between 1 and 64),
  payment_key text,
  toss_order_id text,
  status text,
  received_at timestamptz not null default now(),
  outcome text not null default 'received' check (outcome in (
    'received', 'applied', 'stale', 'unknown-order', 'amount-mismatch', 'order-mismatch'
  ))
);

create index if not exists payment_events_payment on public.payment_events (payment_key);

-- Refunds --------------------------------------------------------------------------------------

create table if not exists public.refunds (
  id uuid primary key default gen_random_uuid(),
  -- Sent to Toss as Idempotency-Key: every retry of this refund carries the same key.
  idempotency_key text generated always as ('refund_' || replace(id::text, '-', '')) stored,
  payment_key text not null references public.payments (payment_key),
  -- The user id of the caller, or 'service' for a service-role call without a subject.
  requester text not null check (length(requester) between 1 and 64),
  requester_is_ops boolean not null default false,
  client_idempotency_key text
    check (length(client_idempotency_key) <= 300 and client_idempotency_key ~ '^[\x20-\x7e]+$'),
  amount integer not null check (amount > 0),
  -- True when the caller omitted cancelAmount: Toss is asked for a full cancel.
  full_cancel boolean not null,
  -- The refundableAmount sent to Toss (its balance when this refund was reserved).
  refundable_amount integer not null check (refundable_amount >= amount),
  reason text not null check (length(reason) between 1 and 200),
  -- Only {bank, accountNumberLast4}: the full account number is never stored.
  refund_account jsonb,
  status text not null default 'pending' check (status in ('pending', 'done', 'failed')),
  toss_transaction_key text,
  failure_code text,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  constraint refunds_client_idempotency_key unique (requester, client_idempotency_key),
  constraint refunds_settled check ((status = 'pending') = (settled_at is null))
);

-- One refund in flight per payment: Toss checks refundableAmount against its own balance, which
-- is only known while no other cancel is outstanding.
create unique index if not exists refunds_one_pending_per_payment
  on public.refunds (payment_key) where status = 'pending';
create index if not exists refunds_pending_created
  on public.refunds (created_at) where status = 'pending';

-- Table access: nothing for anon/authenticated (PostgREST exposes public), all for service_role.

alter table public.products enable row level security;
alter table public.toss_customers enable row level security;
alter table public.orders enable row level security;
alter table public.payments enable row level security;
alter table public.payment_events enable row level security;
alter table public.refunds enable row level security;

revoke all on table public.products, public.toss_customers, public.orders, public.payments,
  public.payment_events, public.refunds from public, anon, authenticated;
grant select, insert, update, delete on table public.products, public.toss_customers,
  public.orders, public.payments, public.payment_events, public.refunds to service_role;

-- The catalog is public reading.
grant select on table public.products to anon, authenticated;
drop policy if exists products_read_active on public.products;
create policy products_read_active on public.products for select to anon, authenticated
  using (active);

-- Helpers --------------------------------------------------------------------------------------

-- Order of Toss statuses along a payment's life; a snapshot ranking lower than the stored one
-- is out of date. Terminal statuses share the top rank: once there, nothing moves it.
create or replace function public.payment_status_rank(p_status text)
returns integer
language sql
immutable
set search_path = public, pg_temp
as $$
  select case p_status
    when 'READY' then 0
    when 'IN_PROGRESS' then 1
    when 'WAITING_FOR_DEPOSIT' then 2
    when 'DONE' then 3
    when 'PARTIAL_CANCELED' then 4
    when 'CANCELED' then 5
    when 'ABORTED' then 5
    when 'EXPIRED' then 5
  end
$$;

-- Apply a Payment object that came from Toss itself (GET /v1/payments/{paymentKey} or a cancel
-- response). Returns 'applied' | 'stale' | 'unknown-order' | 'amount-mismatch' |
-- 'order-mismatch' (another paymentKey already holds the order).
create or replace function public.payment_apply_snapshot(p_payment jsonb)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_key text := p_payment->>'paymentKey';
  v_status text := p_payment->>'status';
  v_order public.orders;
  v_pay public.payments;
  v_total integer;
  v_balance integer;
  v_approved timestamptz;
  v_tx_at timestamptz;
  v_inserted integer;
begin
  if v_key is null or length(v_key) > 200 or public.payment_status_rank(v_status) is null
    or jsonb_typeof(p_payment->'totalAmount') is distinct from 'number' then
    raise exception using errcode = 'P0001', message = 'invalid-payment: paymentKey, status and totalAmount are required';
  end if;
  select * into v_order from public.orders where toss_order_id = p_payment->>'orderId';
  if not found then
    return 'unknown-order';
  end if;
  v_total := (p_payment->>'totalAmount')::integer;
  v_balance := coalesce((p_payment->>'balanceAmount')::integer, v_total);
  if v_total <> v_order.amount_krw then
    return 'amount-mismatch';
  end if;
  v_approved := (p_payment->>'approvedAt')::timestamptz;
  select greatest(v_approved, (p_payment->>'requestedAt')::timestamptz, max((c->>'canceledAt')::timestamptz))
    into v_tx_at
    from jsonb_array_elements(case when jsonb_typeof(p_payment->'cancels') = 'array'
      then p_payment->'cancels' else '[]'::jsonb end) as c;

  insert into public.payments (payment_key, order_id, status, method, total_amount, balance_amount,
    secret, approved_at, last_transaction_at, last_transaction_key)
  values (v_key, v_order.id, v_status, p_payment->>'method', v_total, v_balance,
    p_payment->>'secret', v_approved, v_tx_at, p_payment->>'lastTransactionKey')
  on conflict do nothing;
  get diagnostics v_inserted = row_count;
  if v_inserted = 1 then
    update public.orders set status = v_status, updated_at = now() where id = v_order.id;
    return 'applied';
  end if;

  select * into v_pay from public.payments where payment_key = v_key for update;
  if not found or v_pay.order_id <> v_order.id then
    -- Another payment already holds this order (or the key belongs to another order).
    return 'order-mismatch';
  end if;
  if public.payment_status_rank(v_status) < public.payment_status_rank(v_pay.status)
    or (public.payment_status_rank(v_pay.status) = 5 and v_status <> v_pay.status)
    or v_balance > v_pay.balance_amount
    or v_tx_at < v_pay.last_transaction_at then
    return 'stale';
  end if;
  if v_status = v_pay.status and v_balance = v_pay.balance_amount
    and v_tx_at is not distinct from v_pay.last_transaction_at then
    return 'applied';
  end if;
  update public.payments set
    status = v_status,
    balance_amount = v_balance,
    method = coalesce(p_payment->>'method', method),
    secret = coalesce(p_payment->>'secret', secret),
    approved_at = coalesce(v_approved, approved_at),
    last_transaction_at = greatest(v_tx_at, last_transaction_at),
    last_transaction_key = coalesce(p_payment->>'lastTransactionKey', last_transaction_key),
    version = version + 1,
    updated_at = now()
  where payment_key = v_key;
  update public.orders set status = v_status, updated_at = now() where id = v_order.id;
  return 'applied';
end
$$;

-- Checkout -------------------------------------------------------------------------------------

-- Create an order priced from the catalog. A repeated p_idempotency_key (per user) returns the
-- first order with replayed = true; the same key with different items is refused.
-- Errors: invalid-items, invalid-product-id, invalid-quantity, duplicate-product,
-- unknown-product, inactive-product, amount-too-large, idempotency-key-reused
-- (detail = the field, e.g. 'items.2.productId').
create or replace function public.checkout_create_order(
  p_user_id uuid,
  p_items jsonb,
  p_idempotency_key text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_item jsonb;
  v_index integer;
  v_product public.products;
  v_quantity integer;
  v_requested jsonb := '[]'::jsonb;
  v_lines jsonb := '[]'::jsonb;
  v_total bigint := 0;
  v_first_name text;
  v_order public.orders;
  v_customer_key text;
  v_replayed boolean := false;
  v_order_id uuid := gen_random_uuid();
begin
  if p_user_id is null then
    raise exception using errcode = 'P0001', message = 'invalid-user: a user id is required';
  end if;
  if p_idempotency_key is not null and (length(p_idempotency_key) > 300 or p_idempotency_key !~ '^[\x20-\x7e]+$') then
    raise exception using errcode = 'P0001', message = 'invalid-idempotency-key: idempotencyKey';
  end if;
  if jsonb_typeof(p_items) is distinct from 'array' or jsonb_array_length(p_items) not between 1 and 20 then
    raise exception using errcode = 'P0001', message = 'invalid-items: items';
  end if;

  for v_item, v_index in select e, (o - 1)::integer from jsonb_array_elements(p_items) with ordinality as t(e, o) loop
    if jsonb_typeof(v_item->'productId') is distinct from 'string'
      or (v_item->>'productId') !~ '^[A-Za-z0-9_-]{1,64}$' then
      raise exception using errcode = 'P0001', message = format('invalid-product-id: items.%s.productId', v_index);
    end if;
    if jsonb_typeof(v_item->'quantity') is distinct from 'number'
      or (v_item->>'quantity') !~ '^[0-9]{1,2}$' or (v_item->>'quantity')::integer not between 1 and 99 then
      raise exception using errcode = 'P0001', message = format('invalid-quantity: items.%s.quantity', v_index);
    end if;
    if v_requested @> jsonb_build_array(jsonb_build_object('productId', v_item->>'productId')) then
      raise exception using errcode = 'P0001', message = format('duplicate-product: items.%s.productId', v_index);
    end if;
    v_requested := v_requested || jsonb_build_array(jsonb_build_object(
      'productId', v_item->>'productId', 'quantity', (v_item->>'quantity')::integer));
  end loop;

  insert into public.toss_customers (user_id) values (p_user_id) on conflict do nothing;
  select customer_key into v_customer_key from public.toss_customers where user_id = p_user_id;

  if p_idempotency_key is not null then
    select * into v_order from public.orders
      where user_id = p_user_id and idempotency_key = p_idempotency_key;
    if found then
      v_replayed := true;
    end if;
  end if;

  if not v_replayed then
    for v_item, v_index in select e, (o - 1)::integer from jsonb_array_elements(v_requested) with ordinality as t(e, o) loop
      select * into v_product from public.products where id = v_item->>'productId';
      if not found then
        raise exception using errcode = 'P0001', message = format('unknown-product: items.%s.productId', v_index);
      end if;
      if not v_product.active then
        raise exception using errcode = 'P0001', message = format('inactive-product: items.%s.productId', v_index);
      end if;
      v_quantity := (v_item->>'quantity')::integer;
      v_total := v_total + v_product.price_krw::bigint * v_quantity;
      v_first_name := coalesce(v_first_name, v_product.name);
      v_lines := v_lines || jsonb_build_array(jsonb_build_object(
        'productId', v_product.id, 'name', v_product.name, 'quantity', v_quantity,
        'unitPriceKrw', v_product.price_krw, 'lineTotalKrw', v_product.price_krw::bigint * v_quantity));
    end loop;
    -- Toss amounts are integers; beyond int4 something is wrong with the catalog or the cart.
    if v_total > 2147483647 then
      raise exception using errcode = 'P0001', message = 'amount-too-large: items';
    end if;

    insert into public.orders (id, toss_order_id, user_id, items, order_name, amount_krw, idempotency_key)
    values (
      v_order_id,
      'ord_' || replace(v_order_id::text, '-', ''),
      p_user_id,
      v_lines,
      left(case when jsonb_array_length(v_lines) > 1
        then v_first_name || ' 외 ' || (jsonb_array_length(v_lines) - 1) || '건'
        else v_first_name end, 100),
      v_total::integer,
      p_idempotency_key
    )
    on conflict on constraint orders_user_idempotency_key do nothing
    returning * into v_order;
    if v_order.id is null then
      -- A concurrent request with the same key won the insert.
      select * into v_order from public.orders
        where user_id = p_user_id and idempotency_key = p_idempotency_key;
      v_replayed := true;
    end if;
  end if;

  if v_replayed and (
    select coalesce(jsonb_agg(jsonb_build_object(
      'productId', l->>'productId', 'quantity', (l->>'quantity')::integer) order by n), '[]'::jsonb)
    from jsonb_array_elements(v_order.items) with ordinality as t(l, n)
  ) <> v_requested then
    raise exception using errcode = 'P0001', message = 'idempotency-key-reused: header:idempotency-key';
  end if;

  return jsonb_build_object(
    'orderId', v_order.toss_order_id,
    'orderName', v_order.order_name,
    'amount', v_order.amount_krw,
    'currency', v_order.currency,
    'customerKey', v_customer_key,
    'status', v_order.status,
    'items', v_order.items,
    'replayed', v_replayed
  );
end
$$;

-- Webhooks -------------------------------------------------------------------------------------

-- Record a PAYMENT_STATUS_CHANGED delivery and apply p_payment, which the caller fetched from
-- Toss (never the webhook body). Returns 'duplicate' or an outcome of payment_apply_snapshot.
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
begin
  if p_event_id is null or length(p_event_id) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-event: eventId';
  end if;
  insert into public.payment_events (event_id, event_type, payment_key, toss_order_id, status)
  values (p_event_id, p_event_type, p_payment->>'paymentKey', p_payment->>'orderId', p_payment->>'status')
  on conflict (event_id) do nothing;
  if not found then
    return 'duplicate';
  end if;
  v_outcome := public.payment_apply_snapshot(p_payment);
  update public.payment_events set outcome = v_outcome where event_id = p_event_id;
  return v_outcome;
end
$$;

-- Record and apply a DEPOSIT_CALLBACK (virtual account). Authenticity: p_secret must equal the
-- secret stored at confirm; the digests are compared so timing reveals nothing about it.
-- Returns 'applied' | 'duplicate' | 'stale' | 'unknown-order' | 'secret-mismatch' (not recorded).
create or replace function public.webhook_apply_deposit_callback(
  p_event_id text,
  p_order_id text,
  p_secret text,
  p_status text,
  p_transaction_key text default null,
  p_created_at timestamptz default null
)
returns text
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_pay public.payments;
  v_outcome text := 'applied';
begin
  if p_event_id is null or length(p_event_id) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'invalid-event: eventId';
  end if;
  if public.payment_status_rank(p_status) is null then
    raise exception using errcode = 'P0001', message = 'invalid-event: status';
  end if;
  select p.* into v_pay from public.payments p join public.orders o on o.id = p.order_id
    where o.toss_order_id = p_order_id
    for update of p;
  if not found then
    insert into public.payment_events (event_id, event_type, toss_order_id, status, outcome)
    values (p_event_id, 'DEPOSIT_CALLBACK', p_order_id, p_status, 'unknown-order')
    on conflict (event_id) do nothing;
    return case when found then 'unknown-order' else 'duplicate' end;
  end if;
  if v_pay.secret is null or p_secret is null
    or sha256(convert_to(v_pay.secret, 'UTF8')) <> sha256(convert_to(p_secret, 'UTF8')) then
    return 'secret-mismatch';
  end if;
  insert into public.payment_events (event_id, event_type, payment_key, toss_order_id, status)
  values (p_event_id, 'DEPOSIT_CALLBACK', v_pay.payment_key, p_order_id, p_status)
  on conflict (event_id) do nothing;
  if not found then
    return 'duplicate';
  end if;

  if p_created_at < v_pay.last_transaction_at
    -- A deposit reversal moves DONE back to WAITING_FOR_DEPOSIT; any other step back is stale.
    or (public.payment_status_rank(p_status) < public.payment_status_rank(v_pay.status)
      and not (v_pay.status = 'DONE' and p_status = 'WAITING_FOR_DEPOSIT'))
    or (public.payment_status_rank(p_status) = 5 and p_status <> v_pay.status
      and public.payment_status_rank(v_pay.status) = 5) then
    v_outcome := 'stale';
  elsif p_status <> v_pay.status then
    update public.payments set
      status = p_status,
      approved_at = case when p_status = 'DONE' then coalesce(approved_at, p_created_at, now()) else approved_at end,
      last_transaction_at = greatest(last_transaction_at, p_created_at),
      last_transaction_key = coalesce(p_transaction_key, last_transaction_key),
      version = version + 1,
      updated_at = now()
    where payment_key = v_pay.payment_key;
    update public.orders set status = p_status, updated_at = now() where id = v_pay.order_id;
  end if;
  update public.payment_events set outcome = v_outcome where event_id = p_event_id;
  return v_outcome;
end
$$;

-- Refunds --------------------------------------------------------------------------------------

create or replace function public.refund_json(p_refund public.refunds, p_replayed boolean)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'refundId', p_refund.id,
    'idempotencyKey', p_refund.idempotency_key,
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
    'balanceAmount', (select balance_amount from public.payments where payment_key = p_refund.payment_key),
    'paymentStatus', (select status from public.payments where payment_key = p_refund.payment_key),
    'method', (select method from public.payments where payment_key = p_refund.payment_key)
  )
$$;

-- Reserve a refund before asking Toss to cancel. Owners may refund within 7 days of approval;
-- ops (p_is_ops) any time. p_amount null = full refund of what is left.
-- Errors: invalid-amount, invalid-reason, payment-not-found (also for another user's payment),
-- not-refundable, refund-window-closed, refund-in-progress, exceeds-refundable,
-- refund-account-required, idempotency-key-reused.
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
  v_owner uuid;
  v_pending integer;
  v_refundable integer;
  v_amount integer;
  v_now timestamptz := coalesce(p_now, now());
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
  if not coalesce(p_is_ops, false) and p_user_id is null then
    raise exception using errcode = 'P0001', message = 'payment-not-found: paymentKey';
  end if;

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

  select * into v_pay from public.payments where payment_key = p_payment_key for update;
  if found then
    select user_id into v_owner from public.orders where id = v_pay.order_id;
  end if;
  -- Not distinguishing "absent" from "someone else's" keeps payment keys unenumerable.
  if not found or (not coalesce(p_is_ops, false) and v_owner is distinct from p_user_id) then
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

  insert into public.refunds (payment_key, requester, requester_is_ops, client_idempotency_key,
    amount, full_cancel, refundable_amount, reason, refund_account)
  values (p_payment_key, v_requester, coalesce(p_is_ops, false), p_client_key, v_amount,
    p_amount is null, v_refundable, p_reason,
    case when p_refund_account is null then null else jsonb_build_object(
      'bank', p_refund_account->>'bank',
      'accountNumberLast4', right(p_refund_account->>'accountNumber', 4)) end)
  returning * into v_refund;
  return public.refund_json(v_refund, false);
end
$$;

-- Settle a pending refund with Toss's answer. 'done' needs the Payment object Toss returned
-- (applied like a webhook snapshot, so a newer webhook is never overwritten); 'failed' releases
-- the reservation; with p_release_client_key (a temporary failure) the caller's Idempotency-Key
-- is freed so the same request can be tried again. Settling again with the same outcome
-- returns the refund unchanged.
-- Errors: refund-not-found, refund-already-settled, invalid-argument.
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
  v_payment_key text;
  v_tx_key text;
begin
  if p_outcome not in ('done', 'failed') then
    raise exception using errcode = 'P0001', message = 'invalid-argument: outcome must be done or failed';
  end if;
  if p_outcome = 'done' and jsonb_typeof(p_payment) is distinct from 'object' then
    raise exception using errcode = 'P0001', message = 'invalid-argument: a done refund needs the Toss payment';
  end if;
  select payment_key into v_payment_key from public.refunds where id = p_refund_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  -- Same lock order as refund_reserve and the webhooks (payment, then refund): no deadlocks.
  perform 1 from public.payments where payment_key = v_payment_key for update;
  select * into v_refund from public.refunds where id = p_refund_id for update;
  if v_refund.status <> 'pending' then
    if v_refund.status = p_outcome then
      return public.refund_json(v_refund, true);
    end if;
    raise exception using errcode = 'P0001', message = format('refund-already-settled: %s', v_refund.status);
  end if;

  if p_outcome = 'done' then
    if p_payment->>'paymentKey' is distinct from v_payment_key then
      raise exception using errcode = 'P0001', message = 'invalid-argument: payment does not match the refund';
    end if;
    select c->>'transactionKey' into v_tx_key
      from jsonb_array_elements(case when jsonb_typeof(p_payment->'cancels') = 'array'
      then p_payment->'cancels' else '[]'::jsonb end) as c
      where (c->>'cancelAmount')::integer = v_refund.amount
      order by (c->>'canceledAt')::timestamptz desc nulls last
      limit 1;
    perform public.payment_apply_snapshot(p_payment);
    update public.refunds set status = 'done', settled_at = now(), toss_transaction_key = v_tx_key
      where id = p_refund_id returning * into v_refund;
  else
    update public.refunds set status = 'failed', settled_at = now(),
      failure_code = left(coalesce(p_failure_code, 'unknown'), 64),
      client_idempotency_key = case when p_release_client_key then null else client_idempotency_key end
      where id = p_refund_id returning * into v_refund;
  end if;
  return public.refund_json(v_refund, false);
end
$$;

-- One refund, for the retry path and for status queries.
create or replace function public.refund_get(p_refund_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_refund public.refunds;
begin
  select * into v_refund from public.refunds where id = p_refund_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'refund-not-found: refundId';
  end if;
  return public.refund_json(v_refund, true);
end
$$;

-- Pending refunds older than p_older_than_seconds, oldest first: what a retry job resends.
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
    order by created_at
    limit least(greatest(p_limit, 1), 1000)
  ) as r
$$;

-- Execution: service_role only ----------------------------------------------------------------

revoke execute on function
  public.payment_status_rank(text),
  public.payment_apply_snapshot(jsonb),
  public.checkout_create_order(uuid, jsonb, text),
  public.webhook_apply_payment_event(text, text, jsonb),
  public.webhook_apply_deposit_callback(text, text, text, text, text, timestamptz),
  public.refund_json(public.refunds, boolean),
  public.refund_reserve(text, uuid, integer, text, boolean, text, jsonb, timestamptz),
  public.refund_settle(uuid, text, jsonb, text, boolean),
  public.refund_get(uuid),
  public.refund_pending_list(integer, integer)
from public, anon, authenticated;

grant execute on function
  public.payment_status_rank(text),
  public.payment_apply_snapshot(jsonb),
  public.checkout_create_order(uuid, jsonb, text),
  public.webhook_apply_payment_event(text, text, jsonb),
  public.webhook_apply_deposit_callback(text, text, text, text, text, timestamptz),
  public.refund_json(public.refunds, boolean),
  public.refund_reserve(text, uuid, integer, text, boolean, text, jsonb, timestamptz),
  public.refund_settle(uuid, text, jsonb, text, boolean),
  public.refund_get(uuid),
  public.refund_pending_list(integer, integer)
to service_role;
