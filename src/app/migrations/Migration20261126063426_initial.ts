import { Migration } from '@mikro-orm/migrations';

export class Migration20261126063426_initial extends Migration {
  override name = 'Migration20261126063426_initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "task" ("id" serial primary key, "title" varchar(200) not null, "done" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "task" cascade;`);
  }
}
