import { createHash } from 'node:crypto';
import {
  type Dictionary,
  EntitySchema,
  type NamingStrategy,
  Routine,
  UnderscoreNamingStrategy,
  Utils,
} from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it, vi } from 'vitest';
import { targetSchemaFingerprint } from '../bench/target-schema-fingerprint.js';
import { type DatabaseConfigOverrides, loadDatabaseConfig } from '../src/index.js';
import type { Orm } from '../src/orm.js';
import { schemaIdentity } from '../src/schema-fingerprint.js';

/**
 * The fingerprint hashes the entity metadata instead of MikroORM's target schema. It must change
 * whenever the target schema does (a boot that finds it unchanged skips the update), and should not
 * change otherwise (each false change costs a full diff). No database: MikroORM connects lazily,
 * and discovery alone gives the metadata.
 */

/** A model: entity definitions by name, rebuilt for each ORM, that each case changes in one place. */
type Model = Record<string, Dictionary & { properties: Dictionary<Dictionary> }>;
type Change = (model: Model, config: DatabaseConfigOverrides) => void;

function baseModel(): Model {
  return {
    Author: {
      name: 'Author',
      properties: {
        id: { type: 'number', primary: true },
        name: { type: 'string', length: 100, index: true },
        email: { type: 'string', unique: true },
        status: { enum: true, items: ['active', 'retired'], default: 'active' },
        score: { type: 'decimal', precision: 10, scale: 2, nullable: true },
        bio: { type: 'text', nullable: true },
        books: { kind: '1:m', entity: () => 'Book', mappedBy: 'author' },
      },
    },
    Book: {
      name: 'Book',
      properties: {
        id: { type: 'number', primary: true },
        title: { type: 'string' },
        published: { type: 'boolean', default: false },
        notes: { type: 'json', nullable: true },
        author: { kind: 'm:1', entity: () => 'Author', deleteRule: 'cascade' },
        address: { kind: 'embedded', entity: () => 'Address', nullable: true },
      },
    },
    Publisher: {
      name: 'Publisher',
      properties: { id: { type: 'number', primary: true }, name: { type: 'string' } },
    },
    Address: {
      name: 'Address',
      embeddable: true,
      properties: { street: { type: 'string' }, city: { type: 'string', nullable: true } },
    },
  };
}

interface Identity {
  fingerprint: string;
  entitySet: string;
  /** Computed again after MikroORM built its target schema (which writes into the metadata). */
  fingerprintAfterTargetSchema: string;
  /** The target schema itself: the fingerprint of earlier versions, MikroORM's snapshot, the routines. */
  targetSchema: string;
  targetEntitySet: string;
}

async function identityOf(change?: Change): Promise<Identity> {
  const model = baseModel();
  const config: DatabaseConfigOverrides = {};
  change?.(model, config);
  const entities = Object.values(model).map((definition) => new EntitySchema(definition as never));
  const orm: Orm = new MikroORM(
    loadDatabaseConfig(
      { ...config, entities },
      { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/never_connected' },
    ),
  );
  try {
    const { fingerprint, entitySet } = schemaIdentity(orm);
    const before = targetSchemaFingerprint(orm);
    const target = orm.schema.getTargetSchema();
    const snapshot = JSON.stringify([target, target.getRoutines()]);
    return {
      fingerprint,
      entitySet,
      fingerprintAfterTargetSchema: schemaIdentity(orm).fingerprint,
      targetSchema: sha256(`${before.fingerprint}\n${snapshot}`),
      targetEntitySet: before.entitySet,
    };
  } finally {
    await orm.close();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** One case for each kind of change the issue lists: each changes the target schema. */
const schemaChanges: Record<string, Change> = {
  'a table name': (m) => {
    m.Publisher.tableName = 'publishing_house';
  },
  'a column name': (m) => {
    m.Book.properties.title.fieldName = 'book_title';
  },
  'a column type': (m) => {
    m.Book.properties.title.type = 'text';
  },
  'a length': (m) => {
    m.Author.properties.name.length = 200;
  },
  'a nullability': (m) => {
    m.Book.properties.title.nullable = true;
  },
  'a default': (m) => {
    m.Book.properties.published.default = true;
  },
  'an index': (m) => {
    m.Author.properties.email.index = true;
  },
  'a unique constraint': (m) => {
    delete m.Author.properties.email.unique;
  },
  'a foreign key target': (m) => {
    m.Book.properties.author = {
      kind: 'm:1',
      entity: () => 'Publisher',
      fieldName: 'author_id',
      deleteRule: 'cascade',
    };
    delete m.Author.properties.books;
  },
  'a foreign key on delete rule': (m) => {
    m.Book.properties.author.deleteRule = 'set null';
  },
  'enum values': (m) => {
    m.Author.properties.status.items = ['active', 'retired', 'banned'];
  },
  'a schema name': (m) => {
    m.Publisher.schema = 'library';
  },
};

/** More changes of the target schema, for the cross-check. */
const moreSchemaChanges: Record<string, Change> = {
  'a precision': (m) => {
    m.Author.properties.score.precision = 12;
  },
  'a scale': (m) => {
    m.Author.properties.score.scale = 3;
  },
  'two column types, swapped': (m) => {
    m.Author.properties.bio.type = 'json';
    m.Book.properties.notes.type = 'text';
  },
  'a decimal column given as SQL': (m) => {
    m.Author.properties.score = { type: 'decimal', columnType: 'numeric(8,3)', nullable: true };
  },
  'a column type given as SQL': (m) => {
    m.Book.properties.title.columnType = 'varchar(80)';
  },
  'a raw default': (m) => {
    m.Book.properties.title.defaultRaw = "'untitled'";
  },
  'a default given as a raw SQL fragment': (m) => {
    m.Book.properties.createdAt = { type: 'datetime', defaultRaw: 'now()' };
  },
  'a column comment': (m) => {
    m.Author.properties.bio.comment = 'about the author';
  },
  'a table comment': (m) => {
    m.Author.comment = 'people who write';
  },
  'a named index': (m) => {
    m.Author.properties.name.index = 'author_name_lookup';
  },
  'an index on the entity': (m) => {
    m.Book.indexes = [{ properties: ['title', 'published'] }];
  },
  'a unique constraint on the entity': (m) => {
    m.Book.uniques = [{ properties: ['title', 'author'] }];
  },
  'a check constraint': (m) => {
    m.Author.checks = [{ name: 'score_positive', expression: 'score >= 0' }];
  },
  'a check constraint given as a callback': (m) => {
    m.Author.checks = [{ name: 'score_positive', expression: (columns: Dictionary) => `${columns.score} > 0` }];
  },
  'a partial index': (m) => {
    m.Book.indexes = [{ properties: ['title'], where: { published: true } }];
  },
  'an index given as an expression': (m) => {
    m.Book.indexes = [{ name: 'book_title_lower', expression: 'create index book_title_lower on book (lower(title))' }];
  },
  'a generated column': (m) => {
    m.Book.properties.loudTitle = { type: 'string', generated: '(upper(title)) stored', nullable: true };
  },
  'a collation': (m) => {
    m.Book.properties.title.collation = 'C';
  },
  'class table inheritance: a property of a child': (m) => {
    m.Publisher.inheritance = 'tpt';
    m.Press = { name: 'Press', extends: 'Publisher', properties: { city: { type: 'string', nullable: true } } };
  },
  'a foreign key name': (m) => {
    m.Book.properties.author.foreignKeyName = 'book_writer_fk';
  },
  'a foreign key on update rule': (m) => {
    m.Book.properties.author.updateRule = 'cascade';
  },
  'a nullable foreign key': (m) => {
    m.Book.properties.author.nullable = true;
  },
  'an enum value order': (m) => {
    m.Author.properties.status.items = ['retired', 'active'];
  },
  'a native enum': (m) => {
    m.Author.properties.status.nativeEnumName = 'author_status';
  },
  'native enum values': (m) => {
    m.Author.properties.status.nativeEnumName = 'author_status';
    m.Author.properties.status.items = ['active', 'retired', 'banned'];
  },
  'an array column': (m) => {
    m.Publisher.properties.tags = { type: 'string[]', nullable: true };
  },
  'a json column': (m) => {
    m.Publisher.properties.settings = { type: 'json', nullable: true };
  },
  'a uuid primary key': (m) => {
    m.Publisher.properties.id = { type: 'uuid', primary: true };
  },
  'a primary key without autoincrement': (m) => {
    m.Publisher.properties.id.autoincrement = false;
  },
  'a composite primary key': (m) => {
    m.Publisher.properties.code = { type: 'string', primary: true };
  },
  'an embedded property': (m) => {
    m.Address.properties.zip = { type: 'string', nullable: true };
  },
  'an embedded property type': (m) => {
    m.Address.properties.city.length = 50;
  },
  'an embeddable stored as an object': (m) => {
    m.Book.properties.address.object = true;
  },
  'a one-to-one owner': (m) => {
    m.Publisher.properties.owner = { kind: '1:1', entity: () => 'Author', owner: true, nullable: true };
  },
  'a many-to-many (its pivot table)': (m) => {
    m.Book.properties.publishers = { kind: 'm:n', entity: () => 'Publisher', owner: true };
  },
  'a many-to-many pivot table name': (m) => {
    m.Book.properties.publishers = { kind: 'm:n', entity: () => 'Publisher', owner: true, pivotTable: 'book_pub' };
  },
  'a self reference': (m) => {
    m.Author.properties.mentor = { kind: 'm:1', entity: () => 'Author', nullable: true };
  },
  'a new entity': (m) => {
    m.Shelf = { name: 'Shelf', properties: { id: { type: 'number', primary: true } } };
  },
  'single table inheritance: a property of a child': (m) => {
    m.Publisher.discriminatorColumn = 'kind';
    m.Publisher.discriminatorMap = { press: 'Press' };
    m.Press = { name: 'Press', extends: 'Publisher', properties: { city: { type: 'string', nullable: true } } };
  },
  'a trigger': (m) => {
    m.Book.triggers = [{ name: 'book_touch', timing: 'before', events: ['update'], body: 'begin return new; end' }];
  },
  'a trigger event': (m) => {
    m.Book.triggers = [{ name: 'book_touch', timing: 'before', events: ['insert'], body: 'begin return new; end' }];
  },
  'a policy': (m) => {
    m.Book.policies = [{ name: 'book_read', command: 'select', using: 'published' }];
  },
  'a row level security filter': (m) => {
    m.Book.filters = { published: { name: 'published', cond: { published: true }, rls: true } };
  },
  'a routine': (_m, config) => {
    config.routines = [
      new Routine({
        name: 'one',
        type: 'function',
        body: 'select 1',
        returns: { runtimeType: 'number', columnType: 'int' },
      }),
    ];
  },
  'a routine body': (_m, config) => {
    config.routines = [
      new Routine({
        name: 'one',
        type: 'function',
        body: 'select 2',
        returns: { runtimeType: 'number', columnType: 'int' },
      }),
    ];
  },
  'the default schema': (_m, config) => {
    config.schema = 'catalog';
  },
  'a naming strategy': (_m, config) => {
    config.namingStrategy = class Names extends UnderscoreNamingStrategy {
      override indexName(table: string, columns: string[], type: Parameters<NamingStrategy['indexName']>[2]) {
        return type === 'foreign' ? `a_${table}_fk` : super.indexName(table, columns, type);
      }
    };
  },
  'the same naming strategy, edited': (_m, config) => {
    config.namingStrategy = class Names extends UnderscoreNamingStrategy {
      override indexName(table: string, columns: string[], type: Parameters<NamingStrategy['indexName']>[2]) {
        return type === 'foreign' ? `b_${table}_fk` : super.indexName(table, columns, type);
      }
    };
  },
  'the default update rule of foreign keys': (_m, config) => {
    config.schemaGenerator = { defaultUpdateRule: 'cascade' };
  },
  'a skipped column': (_m, config) => {
    config.schemaGenerator = { skipColumns: { book: ['published'] } };
  },
  'a view': (m) => {
    m.BookTitles = {
      name: 'BookTitles',
      view: true,
      expression: 'select id, title from book',
      properties: { id: { type: 'number', primary: true }, title: { type: 'string' } },
    };
  },
};

/** Changes that leave the target schema as it is: each must keep the fingerprint. */
const irrelevantChanges: Record<string, Change> = {
  "a property's serializer": (m) => {
    m.Author.properties.email.serializer = (value: string) => value.toUpperCase();
  },
  'a hidden flag': (m) => {
    m.Author.properties.email.hidden = true;
  },
  'a property that is not persisted': (m) => {
    m.Author.properties.displayName = { type: 'string', persist: false };
  },
  'the inverse side of a relation': (m) => {
    delete m.Author.properties.books;
  },
  'the order of the entities in the config': (m) => {
    const { Author, ...rest } = m;
    for (const name of Object.keys(m)) delete m[name];
    Object.assign(m, rest, { Author });
  },
};

describe('schema fingerprint', () => {
  it.each(Object.entries(schemaChanges))('changes when %s changes', async (_name, change) => {
    const [base, changed] = await Promise.all([identityOf(), identityOf(change)]);
    // The case is schema-relevant: MikroORM's target schema differs.
    expect(changed.targetSchema).not.toBe(base.targetSchema);
    expect(changed.fingerprint).not.toBe(base.fingerprint);
  });

  it.each(Object.entries(irrelevantChanges))('stays the same when %s changes', async (_name, change) => {
    const [base, changed] = await Promise.all([identityOf(), identityOf(change)]);
    expect(changed.targetSchema).toBe(base.targetSchema);
    expect(changed.fingerprint).toBe(base.fingerprint);
  });

  it('changes with the version of MikroORM, which may build another schema from the same metadata', async () => {
    const current = await identityOf();
    const upgrade = vi.spyOn(Utils, 'getORMVersion').mockReturnValue('7.99.0');
    try {
      expect((await identityOf()).fingerprint).not.toBe(current.fingerprint);
    } finally {
      upgrade.mockRestore();
    }
  });

  it('is the same in another process with the same entities', async () => {
    const [first, second] = await Promise.all([identityOf(), identityOf()]);
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it('changes whenever the target schema changes, for every pair of variants', async () => {
    const variants = { base: undefined, ...schemaChanges, ...moreSchemaChanges, ...irrelevantChanges };
    const identities = new Map<string, Identity>();
    for (const [name, change] of Object.entries(variants)) identities.set(name, await identityOf(change));
    const missed: string[] = [];
    let differingPairs = 0;
    const entries = [...identities];
    for (const [i, [nameA, a]] of entries.entries()) {
      for (const [nameB, b] of entries.slice(i + 1)) {
        if (a.targetSchema === b.targetSchema) continue;
        differingPairs++;
        if (a.fingerprint === b.fingerprint) missed.push(`${nameA} / ${nameB}`);
      }
    }
    expect(missed).toEqual([]);
    // Not vacuous: every schema change differs from the base, hence from most other variants.
    const base = identities.get('base') as Identity;
    for (const name of [...Object.keys(schemaChanges), ...Object.keys(moreSchemaChanges)]) {
      expect(identities.get(name)?.targetSchema, name).not.toBe(base.targetSchema);
    }
    expect(differingPairs).toBeGreaterThan(entries.length * 10);
  });

  it('is the same before and after MikroORM built its target schema in the same process', async () => {
    const variants = { base: undefined, ...schemaChanges, ...moreSchemaChanges };
    for (const [name, change] of Object.entries(variants)) {
      const identity = await identityOf(change);
      expect(identity.fingerprintAfterTargetSchema, name).toBe(identity.fingerprint);
    }
  });

  it("keys the fingerprint by the target schema's tables, as earlier versions did", async () => {
    const variants = { base: undefined, ...schemaChanges, ...moreSchemaChanges };
    for (const [name, change] of Object.entries(variants)) {
      const identity = await identityOf(change);
      expect(identity.entitySet, name).toBe(identity.targetEntitySet);
    }
  });
});
