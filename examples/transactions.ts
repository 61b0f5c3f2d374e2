import 'reflect-metadata';
import { defineEntity, p, TransactionPropagation } from '@mikro-orm/core';
import { Transactional } from '@mikro-orm/decorators/legacy';
import { Container, inject, injectable } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session, withSession } from 'inversify-mikro-orm';

export const Account = defineEntity({
  name: 'Account',
  properties: { id: p.integer().primary(), balance: p.integer() },
});
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  properties: { id: p.integer().primary(), message: p.string() },
});

@injectable()
export class AuditLog {
  constructor(@inject(Session) private readonly db: Session) {}

  // Its own transaction: the entry stays even when the caller rolls back.
  @Transactional({ propagation: TransactionPropagation.REQUIRES_NEW })
  async record(message: string): Promise<void> {
    this.db.create(AuditEntry, { message });
  }
}

@injectable()
export class Transfers {
  constructor(
    @inject(Session) private readonly session: Session,
    @inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  // REQUIRED (the decorator's default): joins the caller's transaction or opens one, flushes
  // and commits at the end, rolls back when it throws.
  @Transactional()
  async transfer(fromId: number, toId: number, amount: number): Promise<void> {
    await this.audit.record(`transfer ${amount} from ${fromId} to ${toId}`);
    const from = await this.session.findOneOrFail(Account, fromId);
    const to = await this.session.findOneOrFail(Account, toId);
    from.balance -= amount;
    to.balance += amount;
    if (from.balance < 0) throw new Error('insufficient funds');
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Account, AuditEntry] }, env)));
  container.bind(AuditLog).toSelf();
  container.bind(Transfers).toSelf();
  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start({ container });
  try {
    const [alice, bob] = await withSession(container, async (session) => {
      const accounts = [session.create(Account, { balance: 50 }), session.create(Account, { balance: 0 })];
      await session.flush();
      return accounts;
    });
    const outcome = await withSession(container, () =>
      container
        .get(Transfers)
        .transfer(alice.id, bob.id, 80)
        .catch((error: Error) => error.message),
    );
    return await withSession(container, async (session) => ({
      outcome,
      balances: (await session.find(Account, {}, { orderBy: { id: 'asc' } })).map((account) => account.balance),
      audited: await session.count(AuditEntry),
    }));
  } finally {
    await lifecycle.stop();
  }
}
