import { defineEntity, p } from '@mikro-orm/core';

/** A minimal entity for tests of the binding itself (the Tasks API has its own). */
export const Note = defineEntity({
  name: 'Note',
  properties: { id: p.integer().primary(), body: p.string() },
});
