-- Settlement: creator ownership of sales, dated rate tables, settlements per creator and month.
--
-- The arithmetic (fee, VAT, withholding, rounding) is in routes/settlement/money.ts; the
-- database aggregates the sales, holds the rates as dated data, and decides every write:
-- a saved settlement always matches the sales and rates read in the same transaction.
-- Contracts: docs/data-model.md ("Settlement"). Money is integer KRW (bigint for sums).
-- Re-runnable on purpose, like 0001.

-- Ownership: the creator on each product, snapshotted into order lines -------------------------

alter table public.products add column if not exists creator_id uuid;
create index if not exists products_creator on public.products (creator_id);

-- One row per order line, written when the order is created. The creator is copied from the
-- catalog at that moment, so moving a product to another creator never rewrites past sales.
create table if not exists public.order_lines (
  order_id uuid not null references public.orders (id),
  line_no integer not null check (line_no >= 0),
  product_id text not null,
  creator_id uuid,
  quantity integer not null check (quantity > 0),
  line_total_krw bigint not null check (line_total_krw >= 0),
  primary key (order_id, line_no)
);

create index if not exists order_lines_creator
  on public.order_lines (creator_id, order_id) include (line_total_krw, line_no);

create or replace function public.order_lines_snapshot()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  insert into public.order_lines (order_id, line_no, product_id, creator_id, quantity, line_total_krw)
  select new.id, (t.o - 1)::integer, t.e->>'productId', p.creator_id,
    (t.e->>'quantity')::integer, (t.e->>'lineTotalKrw')::bigint
  from jsonb_array_elements(new.items) with ordinality as t(e, o)
  left join public.products p on p.id = t.e->>'productId'
  on conflict do nothing;
  return new;
end
$$;

drop trigger if exists orders_snapshot_lines on public.orders;
create trigger orders_snapshot_lines after insert on public.orders
  for each row execute function public.order_lines_snapshot();

-- Orders created before this migration: their lines take the catalog's owner as it is now.
insert into public.order_lines (order_id, line_no, product_id, creator_id, quantity, line_total_krw)
select o.id, (t.o - 1)::integer, t.e->>'productId', p.creator_id,
  (t.e->>'quantity')::integer, (t.e->>'lineTotalKrw')::bigint
from public.orders o
cross join lateral jsonb_array_elements(o.items) with ordinality as t(e, o)
left join public.products p on p.id = t.e->>'productId'
on conflict do nothing;

-- The sales ledger ------------------------------------------------------------------------------
--
-- One row per creator revenue event, written by triggers as payments are approved and refunds
-- complete, so a creator's month is one index range (creator_id, occurred_at) instead of a join
-- over every payment of the platform.

create table if not exists public.settlement_entries (
  entry_id text primary key,
  creator_id uuid not null,
  source text not null check (length(source) between 1 and 32),
  -- The payment key (orders) or the source's own reference, to find the entries again.
  source_ref text not null,
  kind text not null check (kind in ('sale', 'refund')),
  amount_krw bigint not null check (amount_krw > 0),
  occurred_at timestamptz not null,
  sale_occurred_at timestamptz not null,
  recorded_at timestamptz not null default now()
);

create index if not exists settlement_entries_creator_time
  on public.settlement_entries (creator_id, occurred_at)
  include (kind, amount_krw, sale_occurred_at);
create index if not exists settlement_entries_time on public.settlement_entries (occurred_at);
create index if not exists settlement_entries_ref on public.settlement_entries (source_ref);

-- A payment's sale entries: one per order line with a creator, dated by approval. A payment
-- that leaves the paid statuses (a deposit reversed) loses them.
create or replace function public.settlement_entries_for_payment(p_payment_key text)
returns void
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_pay public.payments;
begin
  select * into v_pay from public.payments where payment_key = p_payment_key;
  if not found then
    return;
  end if;
  if v_pay.approved_at is null or v_pay.status not in ('DONE', 'PARTIAL_CANCELED', 'CANCELED') then
    delete from public.settlement_entries where source_ref = p_payment_key and kind = 'sale';
    return;
  end if;
  insert into public.settlement_entries (entry_id, creator_id, source, source_ref, kind,
    amount_krw, occurred_at, sale_occurred_at)
  select 'sale:' || v_pay.payment_key || ':' || l.line_no, l.creator_id, 'order',
    v_pay.payment_key, 'sale', l.line_total_krw, v_pay.approved_at, v_pay.approved_at
  from public.order_lines l
  where l.order_id = v_pay.order_id and l.creator_id is not null and l.line_total_krw > 0
  on conflict (entry_id) do nothing;
end
$$;

-- A completed refund's entries: shared among the order's lines in proportion to their totals
-- (truncated), the first line taking the remainder, so the shares add up to the refund.
create or replace function public.settlement_entries_for_refund(p_refund_id uuid)
returns void
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  insert into public.settlement_entries (entry_id, creator_id, source, source_ref, kind,
    amount_krw, occurred_at, sale_occurred_at)
  select e.entry_id, e.creator_id, 'order', e.payment_key, 'refund', e.amount, e.settled_at, e.approved_at
  from (
    select 'refund:' || r.id || ':' || l.line_no as entry_id, l.creator_id, r.payment_key,
      r.settled_at, p.approved_at,
      (r.amount::bigint * l.line_total_krw / o.amount_krw)
        + case when l.line_no = min(l.line_no) over () then
            r.amount - sum(r.amount::bigint * l.line_total_krw / o.amount_krw) over ()
          else 0 end as amount
    from public.refunds r
    join public.payments p on p.payment_key = r.payment_key
    join public.orders o on o.id = p.order_id
    join public.order_lines l on l.order_id = o.id
    where r.id = p_refund_id and r.status = 'done' and p.approved_at is not null
  ) as e
  where e.creator_id is not null and e.amount > 0
  on conflict (entry_id) do nothing;
end
$$;

create or replace function public.settlement_entries_payment_trigger()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  perform public.settlement_entries_for_payment(new.payment_key);
  return null;
end
$$;

create or replace function public.settlement_entries_refund_trigger()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
  if new.status = 'done' then
    perform public.settlement_entries_for_refund(new.id);
  end if;
  return null;
end
$$;

drop trigger if exists payments_settlement_entries on public.payments;
create trigger payments_settlement_entries
  after insert or update of status, approved_at on public.payments
  for each row execute function public.settlement_entries_payment_trigger();

drop trigger if exists refunds_settlement_entries on public.refunds;
create trigger refunds_settlement_entries
  after insert or update of status on public.refunds
  for each row execute function public.settlement_entries_refund_trigger();

-- Payments and refunds recorded before this migration.
select public.settlement_entries_for_payment(payment_key) from public.payments;
select public.settlement_entries_for_refund(id) from public.refunds where status = 'done';

-- The sales source ----------------------------------------------------------------------------
--
-- Contract for every source of creator revenue (orders here; funding charges extend it):
--   creator_id uuid, source text, entry_id text (unique across sources),
--   kind text ('sale' | 'refund'), amount_krw bigint (> 0, a refund is positive too),
--   occurred_at timestamptz (when the money moved: approval, or the refund's completion),
--   sale_occurred_at timestamptz (for a refund: when the sale it reverses happened).
-- A source either writes its events into settlement_entries (with its own `source` name), or
-- adds its own view with these columns and replaces settlement_sales with a `union all` of
-- the sources (`create or replace view`, same columns in the same order).

create or replace view public.settlement_sales as
select creator_id, source, entry_id, kind, amount_krw, occurred_at, sale_occurred_at
from public.settlement_entries;

-- Rates as dated data --------------------------------------------------------------------------
-- A rate applies from effective_from (a KST date) until the next row's date. Basis points:
-- 10000 = 100 %.

-- Platform fee: creator_id null is the default; a creator's own row overrides it.
create table if not exists public.settlement_fee_rates (
  id bigint generated always as identity primary key,
  creator_id uuid,
  effective_from date not null,
  fee_bp integer not null check (fee_bp between 0 and 9000),
  note text,
  constraint settlement_fee_rates_unique unique nulls not distinct (creator_id, effective_from)
);

-- VAT on the platform fee.
create table if not exists public.settlement_vat_rates (
  effective_from date primary key,
  vat_bp integer not null check (vat_bp between 0 and 5000)
);

-- Withholding by income type. income_tax_bp applies to the income amount, which is the amount
-- paid less the deemed expenses (deemed_expense_bp); local_tax_bp applies to the income tax.
-- min_taxable_income_krw: no tax when the per-payment income amount is at most this (other
-- income's threshold). small_amount_exempt_below_krw: income tax under this is not withheld
-- (null = the exemption does not apply).
create table if not exists public.settlement_withholding_rules (
  income_type text not null check (income_type in ('business', 'other', 'none')),
  effective_from date not null,
  income_tax_bp integer not null check (income_tax_bp between 0 and 10000),
  local_tax_bp integer not null check (local_tax_bp between 0 and 10000),
  deemed_expense_bp integer not null default 0 check (deemed_expense_bp between 0 and 10000),
  min_taxable_income_krw bigint check (min_taxable_income_krw >= 0),
  small_amount_exempt_below_krw bigint check (small_amount_exempt_below_krw >= 0),
  note text,
  primary key (income_type, effective_from)
);

-- The creator as the statement shows them. Only the last four digits of the account are kept;
-- no resident registration number is stored here.
create table if not exists public.creator_tax_profiles (
  creator_id uuid not null,
  effective_from date not null,
  income_type text not null check (income_type in ('business', 'other', 'none')),
  legal_name text not null check (length(legal_name) between 1 and 100),
  bank_name text check (length(bank_name) <= 40),
  account_last4 text check (account_last4 ~ '^[0-9]{4}$'),
  primary key (creator_id, effective_from)
);

-- Who issues the statements (one row).
create table if not exists public.settlement_issuer (
  id boolean primary key default true check (id),
  name text not null,
  business_number text not null,
  address text not null
);

-- Defaults. Fee 10 % is a commercial default to be confirmed; withholding as the law stands:
-- business income 3 % + local 10 % of it, with the under-1,000-won exemption ending for
-- personal-service business income paid from 2024-07-01; other income 20 % + 10 % after 60 %
-- deemed expenses, nothing when the income amount is at most 50,000 won.
insert into public.settlement_fee_rates (creator_id, effective_from, fee_bp, note)
values (null, '2020-01-01', 1000, 'default platform fee')
on conflict on constraint settlement_fee_rates_unique do nothing;
insert into public.settlement_vat_rates (effective_from, vat_bp) values ('2000-01-01', 1000)
on conflict do nothing;
insert into public.settlement_withholding_rules (income_type, effective_from, income_tax_bp,
  local_tax_bp, deemed_expense_bp, min_taxable_income_krw, small_amount_exempt_below_krw, note)
values
  ('business', '2020-01-01', 300, 1000, 0, null, 1000, 'income tax act 86: under 1,000 won not withheld'),
  ('business', '2024-07-01', 300, 1000, 0, null, null, 'exemption ended for personal services'),
  ('other', '2019-01-01', 2000, 1000, 6000, 50000, 1000, 'lecture/manuscript type, 60 % deemed expenses'),
  ('none', '2000-01-01', 0, 0, 0, null, null, 'no withholding (e.g. a business issuing invoices)')
on conflict do nothing;
insert into public.settlement_issuer (name, business_number, address)
values ('플랫폼 주식회사', '000-00-00000', '서울특별시')
on conflict do nothing;

-- Settlements ----------------------------------------------------------------------------------

create table if not exists public.settlements (
  id uuid primary key default gen_random_uuid(),
  creator_id uuid not null,
  -- KST dates; the period is [period_start, period_end).
  period_start date not null,
  period_end date not null check (period_end > period_start),
  payout_date date not null,
  statement_no text not null unique,
  status text not null default 'draft' check (status in ('draft', 'confirmed', 'paid')),
  -- What the calculation read (sums and rates) and what it produced (every line).
  inputs jsonb not null,
  lines jsonb not null,
  rates jsonb not null,
  gross_krw bigint not null check (gross_krw >= 0),
  refunds_krw bigint not null check (refunds_krw >= 0),
  adjustments_krw bigint not null check (adjustments_krw >= 0),
  carried_in_krw bigint not null check (carried_in_krw <= 0),
  fee_krw bigint not null check (fee_krw >= 0),
  vat_krw bigint not null check (vat_krw >= 0),
  payable_krw bigint not null check (payable_krw >= 0),
  income_tax_krw bigint not null check (income_tax_krw >= 0),
  local_tax_krw bigint not null check (local_tax_krw >= 0),
  transfer_krw bigint not null check (transfer_krw >= 0),
  carry_out_krw bigint not null check (carry_out_krw <= 0),
  -- The earlier settlement whose negative balance this one took over.
  carried_from uuid references public.settlements (id),
  version integer not null default 1,
  calculated_at timestamptz not null default now(),
  confirmed_at timestamptz,
  confirmed_by text,
  paid_at timestamptz,
  paid_by text,
  constraint settlements_creator_period unique (creator_id, period_start),
  -- The parts always add up to the gross.
  constraint settlements_parts_add_up check (gross_krw = refunds_krw + adjustments_krw
    - carried_in_krw + fee_krw + vat_krw + income_tax_krw + local_tax_krw + transfer_krw
    + carry_out_krw),
  constraint settlements_payable check (payable_krw = income_tax_krw + local_tax_krw + transfer_krw),
  constraint settlements_confirmed check ((status = 'draft') = (confirmed_at is null)),
  constraint settlements_paid check ((status = 'paid') = (paid_at is not null))
);

create index if not exists settlements_period on public.settlements (period_start, id);
-- A negative balance is taken over once.
create unique index if not exists settlements_carried_once
  on public.settlements (carried_from) where carried_from is not null and status <> 'draft';

-- Confirmed and paid settlements are an immutable snapshot: only confirmed → paid may change.
create or replace function public.settlements_guard()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  if tg_op = 'DELETE' then
    if old.status <> 'draft' then
      raise exception using errcode = 'P0001', message = 'settlement-immutable: a confirmed settlement cannot be deleted';
    end if;
    return old;
  end if;
  if old.status = 'draft' then
    return new;
  end if;
  if old.status = 'confirmed' and new.status = 'paid'
    and (to_jsonb(new) - array['status', 'paid_at', 'paid_by'])
      = (to_jsonb(old) - array['status', 'paid_at', 'paid_by']) then
    return new;
  end if;
  raise exception using errcode = 'P0001', message = format('settlement-immutable: the settlement is %s', old.status);
end
$$;

drop trigger if exists settlements_guard on public.settlements;
create trigger settlements_guard before update or delete on public.settlements
  for each row execute function public.settlements_guard();

-- Batch runs over all creators of a period (resumable; each creator is its own transaction).
create table if not exists public.settlement_runs (
  id uuid primary key default gen_random_uuid(),
  period_start date not null,
  period_end date not null,
  payout_date date not null,
  cursor_creator uuid,
  processed integer not null default 0,
  failed integer not null default 0,
  total integer not null,
  status text not null default 'running' check (status in ('running', 'done')),
  started_by text not null,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table public.order_lines enable row level security;
alter table public.settlement_entries enable row level security;
alter table public.settlement_fee_rates enable row level security;
alter table public.settlement_vat_rates enable row level security;
alter table public.settlement_withholding_rules enable row level security;
alter table public.creator_tax_profiles enable row level security;
alter table public.settlement_issuer enable row level security;
alter table public.settlements enable row level security;
alter table public.settlement_runs enable row level security;

revoke all on table public.order_lines, public.settlement_entries, public.settlement_fee_rates,
  public.settlement_vat_rates, public.settlement_withholding_rules, public.creator_tax_profiles,
  public.settlement_issuer, public.settlements, public.settlement_runs, public.settlement_sales
  from public, anon, authenticated;
grant select, insert, update, delete on table public.order_lines, public.settlement_entries,
  public.settlement_fee_rates,
  public.settlement_vat_rates, public.settlement_withholding_rules, public.creator_tax_profiles,
  public.settlement_issuer, public.settlements, public.settlement_runs to service_role;
grant select on table public.settlement_sales to service_role;

-- Helpers --------------------------------------------------------------------------------------

-- A KST date's midnight as an instant. Korea has had no daylight saving since 1988, so the
-- offset is fixed and no time-zone database is needed.
create or replace function public.settlement_kst_midnight(p_date date)
returns timestamptz
language sql
immutable
set search_path = public, pg_temp
as $$
  select (p_date::text || ' 00:00:00+09')::timestamptz
$$;

-- Hook for identity verification: confirmation refuses a creator for whom this is false.
-- Until the identity migration replaces it, every creator counts as verified.
create or replace function public.settlement_identity_verified(p_creator uuid)
returns boolean
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select p_creator is not null
$$;

-- The sums and rates a calculation needs, read in one snapshot.
-- Errors: invalid-period, creator-not-found (no tax profile in force).
create or replace function public.settlement_inputs(
  p_creator uuid,
  p_period_start date,
  p_period_end date,
  p_payout_date date
)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_from timestamptz;
  v_to timestamptz;
  v_sums record;
  v_carry record;
  v_fee record;
  v_vat record;
  v_rule record;
  v_profile record;
begin
  if p_creator is null then
    raise exception using errcode = 'P0001', message = 'invalid-creator: creatorId';
  end if;
  if p_period_start is null or p_period_end is null or p_period_end <= p_period_start then
    raise exception using errcode = 'P0001', message = 'invalid-period: period';
  end if;
  if p_payout_date is null or p_payout_date < p_period_end then
    raise exception using errcode = 'P0001', message = 'invalid-payout-date: payoutDate';
  end if;
  v_from := public.settlement_kst_midnight(p_period_start);
  v_to := public.settlement_kst_midnight(p_period_end);

  select
    coalesce(sum(amount_krw) filter (where kind = 'sale'), 0)::bigint as gross,
    coalesce(sum(amount_krw) filter (where kind = 'refund' and sale_occurred_at >= v_from), 0)::bigint as refunds,
    coalesce(sum(amount_krw) filter (where kind = 'refund' and sale_occurred_at < v_from), 0)::bigint as adjustments,
    count(*) filter (where kind = 'sale') as sale_count,
    count(*) filter (where kind = 'refund') as refund_count
  into v_sums
  from public.settlement_sales
  where creator_id = p_creator and occurred_at >= v_from and occurred_at < v_to;

  -- The latest earlier confirmed settlement, if it left a negative balance.
  select id, carry_out_krw into v_carry
  from public.settlements
  where creator_id = p_creator and period_start < p_period_start and status <> 'draft'
  order by period_start desc
  limit 1;

  select f.fee_bp, f.effective_from, (f.creator_id is not null) as override into v_fee
  from public.settlement_fee_rates f
  where (f.creator_id = p_creator or f.creator_id is null) and f.effective_from <= p_period_start
  order by (f.creator_id is not null) desc, f.effective_from desc
  limit 1;
  if not found then
    raise exception using errcode = 'P0001', message = 'rates-missing: no platform fee in force';
  end if;
  select vat_bp, effective_from into v_vat from public.settlement_vat_rates
  where effective_from <= p_period_start order by effective_from desc limit 1;
  if not found then
    raise exception using errcode = 'P0001', message = 'rates-missing: no VAT rate in force';
  end if;

  select income_type, legal_name into v_profile from public.creator_tax_profiles
  where creator_id = p_creator and effective_from <= p_payout_date
  order by effective_from desc limit 1;
  if not found then
    raise exception using errcode = 'P0001', message = 'creator-not-found: creatorId';
  end if;
  select * into v_rule from public.settlement_withholding_rules
  where income_type = v_profile.income_type and effective_from <= p_payout_date
  order by effective_from desc limit 1;
  if not found then
    raise exception using errcode = 'P0001', message = 'rates-missing: no withholding rule in force';
  end if;

  return jsonb_build_object(
    'creatorId', p_creator,
    'periodStart', p_period_start,
    'periodEnd', p_period_end,
    'payoutDate', p_payout_date,
    'grossKrw', v_sums.gross,
    'refundsKrw', v_sums.refunds,
    'adjustmentsKrw', v_sums.adjustments,
    'saleCount', v_sums.sale_count,
    'refundCount', v_sums.refund_count,
    'carriedInKrw', least(coalesce(v_carry.carry_out_krw, 0), 0),
    'carriedFrom', case when coalesce(v_carry.carry_out_krw, 0) < 0 then v_carry.id end,
    'rates', jsonb_build_object(
      'fee', jsonb_build_object('bp', v_fee.fee_bp, 'effectiveFrom', v_fee.effective_from,
        'creatorOverride', v_fee.override),
      'vat', jsonb_build_object('bp', v_vat.vat_bp, 'effectiveFrom', v_vat.effective_from),
      'withholding', jsonb_build_object(
        'incomeType', v_rule.income_type,
        'effectiveFrom', v_rule.effective_from,
        'incomeTaxBp', v_rule.income_tax_bp,
        'localTaxBp', v_rule.local_tax_bp,
        'deemedExpenseBp', v_rule.deemed_expense_bp,
        'minTaxableIncomeKrw', v_rule.min_taxable_income_krw,
        'smallAmountExemptBelowKrw', v_rule.small_amount_exempt_below_krw))
  );
end
$$;

create or replace function public.settlement_json(p_s public.settlements)
returns jsonb
language sql
stable
set search_path = public, pg_temp
as $$
  select jsonb_build_object(
    'settlementId', p_s.id,
    'creatorId', p_s.creator_id,
    'periodStart', p_s.period_start,
    'periodEnd', p_s.period_end,
    'payoutDate', p_s.payout_date,
    'statementNo', p_s.statement_no,
    'status', p_s.status,
    'lines', p_s.lines,
    'rates', p_s.rates,
    'inputs', p_s.inputs,
    'version', p_s.version,
    'calculatedAt', p_s.calculated_at,
    'confirmedAt', p_s.confirmed_at,
    'paidAt', p_s.paid_at
  )
$$;

-- Save a calculation as a draft, or confirm it (p_confirm). The inputs the caller computed
-- from are read again here, in this transaction: if sales or rates changed meanwhile the save
-- is refused (inputs-changed) and nothing is written. Concurrent saves of one creator and
-- period meet on the unique key, so there is one settlement. A confirmed or paid settlement is
-- returned unchanged (replayed = true) when the caller's result matches, else refused.
-- Errors: inputs-changed, invalid-result, settlement-confirmed, later-period-confirmed,
-- earlier-period-unconfirmed, period-not-over, identity-unverified, and settlement_inputs'.
create or replace function public.settlement_save(
  p_creator uuid,
  p_period_start date,
  p_period_end date,
  p_payout_date date,
  p_inputs jsonb,
  p_result jsonb,
  p_confirm boolean,
  p_actor text,
  p_now timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_now timestamptz := coalesce(p_now, now());
  v_current jsonb;
  v_existing public.settlements;
  v_saved public.settlements;
  v_id uuid := gen_random_uuid();
  v_r jsonb := p_result;
begin
  if jsonb_typeof(p_result) is distinct from 'object' or jsonb_typeof(p_result->'lines') is distinct from 'array' then
    raise exception using errcode = 'P0001', message = 'invalid-result: result';
  end if;
  -- One writer per creator and period at a time: the second waits and then sees the first.
  perform pg_advisory_xact_lock(hashtextextended('settlement:' || p_creator || ':' || p_period_start, 0));

  select * into v_existing from public.settlements
  where creator_id = p_creator and period_start = p_period_start;
  if found and v_existing.status <> 'draft' then
    if v_existing.lines = p_result->'lines' then
      return public.settlement_json(v_existing) || jsonb_build_object('replayed', true);
    end if;
    raise exception using errcode = 'P0001', message = format('settlement-confirmed: the settlement is %s', v_existing.status);
  end if;
  if exists (select 1 from public.settlements where creator_id = p_creator
      and period_start > p_period_start and status <> 'draft') then
    raise exception using errcode = 'P0001', message = 'later-period-confirmed: period';
  end if;

  v_current := public.settlement_inputs(p_creator, p_period_start, p_period_end, p_payout_date);
  if v_current is distinct from p_inputs then
    raise exception using errcode = 'P0001', message = 'inputs-changed: sales or rates changed during the calculation; calculate again';
  end if;

  if coalesce(p_confirm, false) then
    if v_now < public.settlement_kst_midnight(p_period_end) then
      raise exception using errcode = 'P0001', message = 'period-not-over: period';
    end if;
    if exists (select 1 from public.settlements where creator_id = p_creator
        and period_start < p_period_start and status = 'draft') then
      raise exception using errcode = 'P0001', message = 'earlier-period-unconfirmed: period';
    end if;
    if not public.settlement_identity_verified(p_creator) then
      raise exception using errcode = 'P0001', message = 'identity-unverified: creatorId';
    end if;
  end if;

  begin
    insert into public.settlements as s (id, creator_id, period_start, period_end, payout_date,
      statement_no, status, inputs, lines, rates, gross_krw, refunds_krw, adjustments_krw,
      carried_in_krw, fee_krw, vat_krw, payable_krw, income_tax_krw, local_tax_krw, transfer_krw,
      carry_out_krw, carried_from, calculated_at, confirmed_at, confirmed_by)
    values (v_id, p_creator, p_period_start, p_period_end, p_payout_date,
      'ST' || to_char(p_period_start, 'YYYYMM') || '-' || upper(substr(replace(v_id::text, '-', ''), 1, 10)),
      case when p_confirm then 'confirmed' else 'draft' end,
      p_inputs, v_r->'lines', p_inputs->'rates',
      (v_r->>'grossKrw')::bigint, (v_r->>'refundsKrw')::bigint, (v_r->>'adjustmentsKrw')::bigint,
      (v_r->>'carriedInKrw')::bigint, (v_r->>'feeKrw')::bigint, (v_r->>'vatKrw')::bigint,
      (v_r->>'payableKrw')::bigint, (v_r->>'incomeTaxKrw')::bigint, (v_r->>'localTaxKrw')::bigint,
      (v_r->>'transferKrw')::bigint, (v_r->>'carryOutKrw')::bigint,
      (p_inputs->>'carriedFrom')::uuid, v_now,
      case when p_confirm then v_now end, case when p_confirm then p_actor end)
    on conflict (creator_id, period_start) do update set
      period_end = excluded.period_end, payout_date = excluded.payout_date,
      status = excluded.status, inputs = excluded.inputs, lines = excluded.lines,
      rates = excluded.rates, gross_krw = excluded.gross_krw, refunds_krw = excluded.refunds_krw,
      adjustments_krw = excluded.adjustments_krw, carried_in_krw = excluded.carried_in_krw,
      fee_krw = excluded.fee_krw, vat_krw = excluded.vat_krw, payable_krw = excluded.payable_krw,
      income_tax_krw = excluded.income_tax_krw, local_tax_krw = excluded.local_tax_krw,
      transfer_krw = excluded.transfer_krw, carry_out_krw = excluded.carry_out_krw,
      carried_from = excluded.carried_from, calculated_at = excluded.calculated_at,
      confirmed_at = excluded.confirmed_at, confirmed_by = excluded.confirmed_by,
      version = s.version + 1
    where s.status = 'draft'
    returning * into v_saved;
  exception
    when check_violation or not_null_violation or invalid_text_representation then
      raise exception using errcode = 'P0001', message = 'invalid-result: result';
  end;
  return public.settlement_json(v_saved) || jsonb_build_object('replayed', false);
end
$$;

-- Mark a confirmed settlement paid (ops, or a payout integration). Paying twice is a no-op.
-- Errors: settlement-not-found, settlement-not-confirmed.
create or replace function public.settlement_mark_paid(p_id uuid, p_actor text, p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_s public.settlements;
begin
  select * into v_s from public.settlements where id = p_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = 'settlement-not-found: settlementId';
  end if;
  if v_s.status = 'paid' then
    return public.settlement_json(v_s) || jsonb_build_object('replayed', true);
  end if;
  if v_s.status <> 'confirmed' then
    raise exception using errcode = 'P0001', message = 'settlement-not-confirmed: settlementId';
  end if;
  update public.settlements set status = 'paid', paid_at = coalesce(p_now, now()), paid_by = p_actor
  where id = p_id returning * into v_s;
  return public.settlement_json(v_s) || jsonb_build_object('replayed', false);
end
$$;

-- One settlement with what its statement shows (issuer, creator name, bank and last four
-- digits of the account). p_creator, when given, must own it (else not found).
create or replace function public.settlement_get(p_id uuid, p_creator uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_s public.settlements;
  v_profile public.creator_tax_profiles;
  v_issuer public.settlement_issuer;
begin
  select * into v_s from public.settlements where id = p_id;
  if not found or (p_creator is not null and v_s.creator_id <> p_creator) then
    raise exception using errcode = 'P0001', message = 'settlement-not-found: settlementId';
  end if;
  select * into v_profile from public.creator_tax_profiles
  where creator_id = v_s.creator_id and effective_from <= v_s.payout_date
  order by effective_from desc limit 1;
  select * into v_issuer from public.settlement_issuer limit 1;
  return public.settlement_json(v_s) || jsonb_build_object(
    'creator', jsonb_build_object('legalName', v_profile.legal_name,
      'incomeType', v_profile.income_type, 'bankName', v_profile.bank_name,
      'accountLast4', v_profile.account_last4),
    'issuer', jsonb_build_object('name', v_issuer.name,
      'businessNumber', v_issuer.business_number, 'address', v_issuer.address));
end
$$;

-- A creator's settlements (newest first), for reading their own.
create or replace function public.settlement_list(p_creator uuid, p_limit integer default 24)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(public.settlement_json(s) order by s.period_start desc), '[]'::jsonb)
  from (select * from public.settlements where creator_id = p_creator
        order by period_start desc limit least(greatest(p_limit, 1), 120)) as s
$$;

-- Creators to settle for a period, after p_after (keyset): anyone with sales or refunds in the
-- period, or with a negative balance still to take over.
create or replace function public.settlement_creators_page(
  p_period_start date,
  p_period_end date,
  p_after uuid,
  p_limit integer
)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(c.creator_id order by c.creator_id), '[]'::jsonb)
  from (
    select creator_id from (
      select distinct creator_id from public.settlement_sales
      where occurred_at >= public.settlement_kst_midnight(p_period_start)
        and occurred_at < public.settlement_kst_midnight(p_period_end)
      union
      select creator_id from public.settlements
      where period_start < p_period_start and status <> 'draft' and carry_out_krw < 0
    ) as all_creators
    where p_after is null or creator_id > p_after
    order by creator_id
    limit least(greatest(p_limit, 1), 1000)
  ) as c
$$;

-- Start or resume a run over all creators of a period.
create or replace function public.settlement_run_start(
  p_period_start date,
  p_period_end date,
  p_payout_date date,
  p_actor text
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_run public.settlement_runs;
  v_total integer;
begin
  select count(*) into v_total from (
    select distinct creator_id from public.settlement_sales
    where occurred_at >= public.settlement_kst_midnight(p_period_start)
      and occurred_at < public.settlement_kst_midnight(p_period_end)
    union
    select creator_id from public.settlements
    where period_start < p_period_start and status <> 'draft' and carry_out_krw < 0) as c;
  insert into public.settlement_runs (period_start, period_end, payout_date, total, started_by)
  values (p_period_start, p_period_end, p_payout_date, v_total, p_actor)
  returning * into v_run;
  return to_jsonb(v_run);
end
$$;

-- Record a batch's progress. Errors: run-not-found.
create or replace function public.settlement_run_progress(
  p_run_id uuid,
  p_cursor uuid,
  p_processed integer,
  p_failed integer,
  p_done boolean
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_run public.settlement_runs;
begin
  update public.settlement_runs set
    cursor_creator = coalesce(p_cursor, cursor_creator),
    processed = processed + greatest(p_processed, 0),
    failed = failed + greatest(p_failed, 0),
    status = case when p_done then 'done' else status end,
    updated_at = now()
  where id = p_run_id
  returning * into v_run;
  if not found then
    raise exception using errcode = 'P0001', message = 'run-not-found: runId';
  end if;
  return to_jsonb(v_run);
end
$$;

create or replace function public.settlement_run_get(p_run_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = public, pg_temp
as $$
declare
  v_run public.settlement_runs;
begin
  select * into v_run from public.settlement_runs where id = p_run_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'run-not-found: runId';
  end if;
  return to_jsonb(v_run);
end
$$;

-- One page of the export, keyset on id: the caller asks for the next page only when the
-- previous one has been sent, so a cancelled download stops asking.
create or replace function public.settlement_export_page(
  p_period_start date,
  p_status text default null,
  p_creator uuid default null,
  p_after uuid default null,
  p_limit integer default 1000
)
returns jsonb
language sql
stable
security definer
set search_path = public, pg_temp
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
    'settlementId', s.id, 'statementNo', s.statement_no, 'creatorId', s.creator_id,
    'legalName', (select p.legal_name from public.creator_tax_profiles p
      where p.creator_id = s.creator_id and p.effective_from <= s.payout_date
      order by p.effective_from desc limit 1),
    'periodStart', s.period_start, 'periodEnd', s.period_end, 'payoutDate', s.payout_date,
    'status', s.status, 'grossKrw', s.gross_krw, 'refundsKrw', s.refunds_krw,
    'adjustmentsKrw', s.adjustments_krw, 'carriedInKrw', s.carried_in_krw, 'feeKrw', s.fee_krw,
    'vatKrw', s.vat_krw, 'payableKrw', s.payable_krw, 'incomeTaxKrw', s.income_tax_krw,
    'localTaxKrw', s.local_tax_krw, 'transferKrw', s.transfer_krw,
    'carryOutKrw', s.carry_out_krw, 'feeBp', (s.rates->'fee'->>'bp')::integer,
    'incomeType', s.rates->'withholding'->>'incomeType', 'confirmedAt', s.confirmed_at,
    'paidAt', s.paid_at) order by s.id), '[]'::jsonb)
  from (
    select * from public.settlements
    where period_start = p_period_start
      and (p_status is null or status = p_status)
      and (p_creator is null or creator_id = p_creator)
      and (p_after is null or id > p_after)
    order by id
    limit least(greatest(p_limit, 1), 5000)
  ) as s
$$;

-- Execution: service_role only ----------------------------------------------------------------

revoke execute on function
  public.order_lines_snapshot(),
  public.settlement_entries_for_payment(text),
  public.settlement_entries_for_refund(uuid),
  public.settlement_entries_payment_trigger(),
  public.settlement_entries_refund_trigger(),
  public.settlements_guard(),
  public.settlement_kst_midnight(date),
  public.settlement_identity_verified(uuid),
  public.settlement_inputs(uuid, date, date, date),
  public.settlement_json(public.settlements),
  public.settlement_save(uuid, date, date, date, jsonb, jsonb, boolean, text, timestamptz),
  public.settlement_mark_paid(uuid, text, timestamptz),
  public.settlement_get(uuid, uuid),
  public.settlement_list(uuid, integer),
  public.settlement_creators_page(date, date, uuid, integer),
  public.settlement_run_start(date, date, date, text),
  public.settlement_run_progress(uuid, uuid, integer, integer, boolean),
  public.settlement_run_get(uuid),
  public.settlement_export_page(date, text, uuid, uuid, integer)
from public, anon, authenticated;

grant execute on function
  public.settlement_entries_for_payment(text),
  public.settlement_entries_for_refund(uuid),
  public.settlement_kst_midnight(date),
  public.settlement_identity_verified(uuid),
  public.settlement_inputs(uuid, date, date, date),
  public.settlement_json(public.settlements),
  public.settlement_save(uuid, date, date, date, jsonb, jsonb, boolean, text, timestamptz),
  public.settlement_mark_paid(uuid, text, timestamptz),
  public.settlement_get(uuid, uuid),
  public.settlement_list(uuid, integer),
  public.settlement_creators_page(date, date, uuid, integer),
  public.settlement_run_start(date, date, date, text),
  public.settlement_run_progress(uuid, uuid, integer, integer, boolean),
  public.settlement_run_get(uuid),
  public.settlement_export_page(date, text, uuid, uuid, integer)
to service_role;
