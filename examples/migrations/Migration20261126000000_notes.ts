import { Migration } from '@mikro-orm/migrations';

export class Migration20261126000000_notes extends Migration {
  override up(): void {
    this.addSql('create table "note" ("id" serial primary key, "body" varchar(255) not null);');
  }

  override down(): void {
    this.addSql('drop table if exists "note" cascade;');
  }
}
