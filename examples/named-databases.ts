import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { Container, inject, injectable, named } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session, withSession } from 'inversify-mikro-orm';

export const Order = defineEntity({ name: 'Order', properties: { id: p.integer().primary(), total: p.integer() } });
export const Report = defineEntity({ name: 'Report', properties: { id: p.integer().primary(), orders: p.integer() } });

@injectable()
export class DailyReport {
  constructor(
    @inject(Session) private readonly orders: Session,
    @inject(Session) @named('reports') private readonly reports: Session,
  ) {}

  async write(): Promise<void> {
    this.reports.create(Report, { orders: await this.orders.count(Order) });
    await this.reports.flush();
  }
}

/** `env` holds DATABASE_URL for the orders and REPORTS_DATABASE_URL (REPORTS_DB_POOL_MAX, ...) for the reports. */
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Order] }, env)));
  container.load(
    databaseModule(loadDatabaseConfig({ entities: [Report] }, env, { prefix: 'REPORTS_' }), { name: 'reports' }),
  );
  container.bind(DailyReport).toSelf();
  const lifecycle = container.get(AppLifecycle); // one, for both databases
  await lifecycle.start({ container });
  try {
    await withSession(container, async (orders) => {
      orders.create(Order, { total: 12 });
      await orders.flush();
      await container.get(DailyReport).write();
    });
    const reports = container.get(MikroORM, { name: 'reports' }).em.fork();
    return { reports: await reports.count(Report), orders: await container.get(Session).count(Order) };
  } finally {
    await lifecycle.stop(); // every database, the last one started first
  }
}
