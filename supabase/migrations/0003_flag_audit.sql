-- Flag audit trail: every change of a route's native percentage (admin API, dashboard, CLI,
-- auto-rollback), append-only.
--
-- The gateway writes and reads it only through flag_audit_append and flag_audit_list, executable
-- by the service role alone. The table itself accepts INSERT and SELECT from its owner only: a
-- trigger refuses UPDATE, DELETE and TRUNCATE for everyone, superusers included, and no role is
-- granted those privileges. Plain PostgreSQL 15 and PGlite.

do $$ begin create role anon nologin; exception when duplicate_object or unique_violation then null; end $$;
do $$ begin create role authenticated nologin; exception when duplicate_object or unique_violation then null; end $$;
do $$ begin create role service_role nologin; exception when duplicate_object or unique_violation then null; end $$;

create table if not exists public.flag_audit (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  -- Who: 'token:<name>', 'jwt:<sub>' or 'auto-rollback'.
  actor text not null check (length(actor) between 1 and 200),
  route_id text not null check (route_id ~ '^[a-z0-9_-]{1,64}$'),
  from_percent numeric(5, 2) not null check (from_percent between 0 and 100),
  to_percent numeric(5, 2) not null check (to_percent between 0 and 100),
  reason text not null check (length(btrim(reason)) between 1 and 500),
  source text not null check (source in ('api', 'cli', 'dashboard', 'auto-rollback')),
  -- Version of the flag table the change produced.
  version text not null check (length(version) between 1 and 100),
  request_id text check (request_id is null or length(request_id) <= 200)
);

create index if not exists flag_audit_route_id_idx on public.flag_audit (route_id, id desc);

alter table public.flag_audit enable row level security;
revoke all on table public.flag_audit from public, anon, authenticated, service_role;

create or replace function public.flag_audit_refuse_change()
returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
  raise exception using
    errcode = 'P0001',
    message = 'flag-audit-append-only: ' || tg_op || ' on flag_audit is not allowed';
end
$$;

drop trigger if exists flag_audit_no_update_delete on public.flag_audit;
create trigger flag_audit_no_update_delete
  before update or delete on public.flag_audit
  for each row execute function public.flag_audit_refuse_change();

drop trigger if exists flag_audit_no_truncate on public.flag_audit;
create trigger flag_audit_no_truncate
  before truncate on public.flag_audit
  for each statement execute function public.flag_audit_refuse_change();

-- Append one entry and return it as jsonb.
create or replace function public.flag_audit_append(
  p_actor text,
  p_route_id text,
  p_from_percent numeric,
  p_to_percent numeric,
  p_reason text,
  p_source text,
  p_version text,
  p_request_id text default null
)
returns jsonb
language plpgsql
security definer
set search_path = public, pg_temp
as $$
declare
  v_row public.flag_audit;
begin
  insert into public.flag_audit (actor, route_id, from_percent, to_percent, reason, source, version, request_id)
  values (p_actor, p_route_id, p_from_percent, p_to_percent, btrim(p_reason), p_source, p_version, p_request_id)
  returning * into v_row;
  return to_jsonb(v_row);
end
$$;

-- Newest first, optionally for one route, at most p_limit (1..500) entries with id < p_before.
create or replace function public.flag_audit_list(
  p_route_id text default null,
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
    select *
    from public.flag_audit
    where (p_route_id is null or route_id = p_route_id)
      and (p_before is null or id < p_before)
    order by id desc
    limit greatest(1, least(coalesce(p_limit, 50), 500))
  ) a
$$;

revoke all on function public.flag_audit_append(text, text, numeric, numeric, text, text, text, text)
  from public, anon, authenticated;
revoke all on function public.flag_audit_list(text, integer, bigint) from public, anon, authenticated;
revoke all on function public.flag_audit_refuse_change() from public, anon, authenticated;
grant execute on function public.flag_audit_append(text, text, numeric, numeric, text, text, text, text)
  to service_role;
grant execute on function public.flag_audit_list(text, integer, bigint) to service_role;
