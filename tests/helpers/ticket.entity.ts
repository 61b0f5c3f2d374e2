import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { EntityRepository } from '@mikro-orm/postgresql';

/** A decorated entity with a custom repository, as @mikro-orm/nestjs users write them. */
@Entity({ repository: () => TicketRepository })
export class Ticket {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string' })
  title!: string;
}

export class TicketRepository extends EntityRepository<Ticket> {
  open(title: string): Ticket {
    return this.create({ title });
  }
}
