import 'reflect-metadata';
import { defineEntity, p } from '@mikro-orm/core';
import { Container, inject, injectable } from 'inversify';
import { AppLifecycle, databaseModule, loadDatabaseConfig, Session, withSession } from 'inversify-mikro-orm';

export const Account = defineEntity({
  name: 'Account',
  properties: { id: p.integer().primary(), balance: p.integer() },
});

@injectable()
export class AccountService {
  constructor(@inject(Session) private readonly session: Session) {}

  /** A plain read: a replica serves it, unless this Session has written (then the primary does). */
  list() {
    return this.session.find(Account, {}, { orderBy: { id: 'asc' } });
  }

  /** A read that decides a write comes from the primary: a replica may not have the latest balance yet. */
  async deposit(id: number, amount: number) {
    const account = await this.session.findOneOrFail(Account, id, { connectionType: 'write' });
    account.balance += amount;
    await this.session.flush();
  }
}

// DATABASE_URL=postgresql://app:...@primary:5432/bank
// DATABASE_REPLICA_URLS=postgresql://app:...@replica-1:5432/bank,postgresql://app:...@replica-2:5432/bank
export async function main(env: NodeJS.ProcessEnv = process.env) {
  const container = new Container();
  container.load(databaseModule(loadDatabaseConfig({ entities: [Account] }, env)));
  container.bind(AccountService).toSelf();

  const lifecycle = container.get(AppLifecycle);
  await lifecycle.start();
  try {
    const opened = await withSession(container, async (session) => {
      const account = session.create(Account, { balance: 0 });
      await session.flush();
      return account;
    });
    // Another request: it finds the account on the primary even if no replica has it yet.
    const accounts = await withSession(container, async () => {
      const service = container.get(AccountService);
      await service.deposit(opened.id, 5);
      return service.list(); // this Session wrote: read from the primary, so it sees its deposit
    });
    return accounts.map(({ id, balance }) => ({ id, balance }));
  } finally {
    await lifecycle.stop();
  }
}
