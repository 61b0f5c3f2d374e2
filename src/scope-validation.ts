import { type Binding, type BindingService, ClassElementMetadataKind, getClassMetadata } from '@inversifyjs/core';
import { Plugin, type PluginApi } from '@inversifyjs/plugin';
import { type Container, LazyServiceIdentifier, type MetadataName, type ServiceIdentifier } from 'inversify';
import { InversifyMikroOrmError } from './errors.js';

const BINDING_SERVICE = Symbol('inversify-mikro-orm:bindingService');

/**
 * Inversify keeps bindings private; its plugin API is the supported way to read them. The binding
 * service and binding shapes below come from `@inversifyjs/core`, which Inversify does not document
 * as public: tests/dependency-internals.int.test.ts fails if a version inside our range changes them.
 */
class BindingInspector extends Plugin<Container> {
  load(api: PluginApi): void {
    api.define(BINDING_SERVICE, () => this._context.bindingService);
  }
}

const inspected = new WeakSet<Container>();

function bindingsOf(container: Container): BindingService {
  if (!inspected.has(container)) {
    container.register(BindingInspector);
    inspected.add(container);
  }
  return (container as unknown as Record<symbol, () => BindingService>)[BINDING_SERVICE]();
}

type Lifetime = 'singleton' | 'transient' | 'request' | 'redirect';

function lifetimeOf(binding: Binding): Lifetime {
  if (binding.type === 'ServiceRedirection') return 'redirect';
  return binding.scope === 'Singleton' ? 'singleton' : binding.scope === 'Request' ? 'request' : 'transient';
}

function unwrap(id: ServiceIdentifier | LazyServiceIdentifier): ServiceIdentifier {
  return LazyServiceIdentifier.is(id) ? id.unwrap() : id;
}

interface Dependency {
  id: ServiceIdentifier;
  /** `@named(...)`: which of several databases' Sessions, for instance. */
  name?: MetadataName;
}

/** What a binding injects, as far as Inversify can see it (dynamic values and factories are opaque). */
function dependenciesOf(binding: Binding): Dependency[] {
  switch (binding.type) {
    case 'Instance': {
      const metadata = getClassMetadata(binding.implementationType);
      return [...metadata.constructorArguments, ...metadata.properties.values()].flatMap((element) =>
        element.kind === ClassElementMetadataKind.unmanaged ? [] : [{ id: unwrap(element.value), name: element.name }],
      );
    }
    case 'ResolvedValue':
      return binding.metadata.arguments.map((argument) => ({ id: unwrap(argument.value), name: argument.name }));
    case 'ServiceRedirection':
      return [{ id: binding.targetServiceIdentifier }];
    default:
      return [];
  }
}

function nameOf(id: ServiceIdentifier): string {
  if (typeof id === 'function') return id.name || 'anonymous class';
  return typeof id === 'symbol' ? (id.description ?? id.toString()) : id;
}

function labelOf({ id, name }: Dependency): string {
  return name === undefined ? nameOf(id) : `${nameOf(id)} @named(${JSON.stringify(String(name))})`;
}

/**
 * Fails fast on captive dependencies: a singleton that (directly, or through any chain of
 * transient services) depends on a request-scoped service such as `Session` would keep the first
 * request's unit of work, identity map and all, for the life of the process. Throws one error
 * listing every such path, e.g. `ReportCache (singleton) -> TaskService (transient) -> Session (request)`.
 */
export function validateScopes(container: Container): void {
  const bindings = bindingsOf(container);
  // A set: a named injection matches every database's binding, and each would report the same path.
  const captives = new Set<string>();

  const walk = (binding: Binding, path: string[], seen: Set<ServiceIdentifier>) => {
    for (const dependency of dependenciesOf(binding)) {
      for (const target of bindings.getChained(dependency.id)) {
        const lifetime = lifetimeOf(target);
        const step = `${labelOf(dependency)} (${lifetime})`;
        if (lifetime === 'request') captives.add([...path, step].join(' -> '));
        else if (lifetime !== 'singleton' && !seen.has(dependency.id)) {
          walk(target, lifetime === 'redirect' ? path : [...path, step], new Set(seen).add(dependency.id));
        }
      }
    }
  };

  for (const id of bindings.getBoundServices()) {
    for (const binding of bindings.get(id) ?? []) {
      if (lifetimeOf(binding) === 'singleton') walk(binding, [`${nameOf(id)} (singleton)`], new Set([id]));
    }
  }
  if (captives.size > 0) {
    throw new InversifyMikroOrmError(
      'scope',
      `A singleton would capture a request-scoped service (one request's Session would live forever):\n  ${[...captives].join('\n  ')}\nBind the first service after "(singleton)" in transient or request scope, or inject MikroORM and use withSession() per unit of work.`,
    );
  }
}
