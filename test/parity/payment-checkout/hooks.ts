import type { HookContext, ParityHook } from '../../../scripts/parity/cases.js'

export function needSql(ctx: HookContext) {
  const sql = ctx.services.sql
  if (!sql) throw new Error('this setup hook needs the shared database (set DATABASE_URL)')
  return sql
}

export const hooks: Record<string, ParityHook> = {
  /** Two products on sale and one withdrawn, under ids no real product uses. */
  async catalog(ctx) {
    await needSql(ctx)(
      `insert into public.products (id, name, price_krw, active) values
        ('parity-tee', '패리티 티셔츠', 15000, true), ('parity-cap', '패리티 모자', 9000, true),
        ('parity-old', '패리티 단종', 1000, false)
       on conflict (id) do nothing`,
    )
    return { product: 'parity-tee', otherProduct: 'parity-cap', withdrawnProduct: 'parity-old' }
  },
}
