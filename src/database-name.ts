import type { BindingConstraints } from 'inversify';

/** The database `databaseModule(config)` binds when given no name (also MikroORM's default `contextName`). */
export const DEFAULT_DATABASE = 'default';

/**
 * Which injections a database's bindings answer: its name (`@named('reports')`,
 * `container.get(Session, { name: 'reports' })`), and for the default database also no name at all.
 */
export function forDatabase(name: string): (constraints: BindingConstraints) => boolean {
  if (name === DEFAULT_DATABASE) {
    return (constraints) => constraints.name === undefined || constraints.name === DEFAULT_DATABASE;
  }
  return (constraints) => constraints.name === name;
}
