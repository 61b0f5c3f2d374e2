import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** The package's entries as a consumer sees them: the declaration files the build wrote (global setup). */
const LIB = path.resolve('dist/lib');
const ENTRIES = ['index', 'fastify/index', 'express/index', 'embedded/index', 'metrics/index'].map((entry) =>
  path.join(LIB, `${entry}.d.ts`),
);

function resolved(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

const isOurs = (symbol: ts.Symbol) =>
  symbol.declarations?.some((declaration) => declaration.getSourceFile().fileName.startsWith(LIB)) ?? false;

/** Declared with `export` in its own module: a named concept of ours, not a local helper alias. */
const isExportedByItsModule = (symbol: ts.Symbol) =>
  symbol.declarations?.some(
    (declaration) => (ts.getCombinedModifierFlags(declaration as ts.Declaration) & ts.ModifierFlags.Export) !== 0,
  ) ?? false;

/** Type names referenced by the public parts of a declaration (private members excluded). */
function referencedTypes(checker: ts.TypeChecker, declaration: ts.Node): ts.Symbol[] {
  const found: ts.Symbol[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isPrivateIdentifier((node as ts.NamedDeclaration).name ?? node)) return;
    if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) {
      return;
    }
    const name = ts.isTypeReferenceNode(node)
      ? node.typeName
      : ts.isExpressionWithTypeArguments(node)
        ? node.expression
        : ts.isTypeQueryNode(node)
          ? node.exprName
          : undefined;
    const symbol = name && checker.getSymbolAtLocation(name);
    if (symbol) found.push(resolved(checker, symbol));
    ts.forEachChild(node, visit);
  };
  visit(declaration);
  return found;
}

describe('the public API', () => {
  it('exports every type of ours that appears in a public signature, from some entry', () => {
    const program = ts.createProgram(ENTRIES, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const exported = new Set<ts.Symbol>();
    for (const entry of ENTRIES) {
      const source = program.getSourceFile(entry);
      expect(source, entry).toBeDefined();
      const module = checker.getSymbolAtLocation(source as ts.SourceFile) as ts.Symbol;
      for (const symbol of checker.getExportsOfModule(module)) exported.add(resolved(checker, symbol));
    }
    const missing = new Set<string>();
    for (const symbol of exported) {
      for (const declaration of symbol.declarations ?? []) {
        for (const used of referencedTypes(checker, declaration)) {
          if (isOurs(used) && isExportedByItsModule(used) && !exported.has(used)) {
            missing.add(`${used.getName()} (used by ${symbol.getName()})`);
          }
        }
      }
    }
    expect([...missing]).toEqual([]);
    // The two the issue found missing, named so a regression in the walk itself shows.
    expect([...exported].map((symbol) => symbol.getName())).toEqual(
      expect.arrayContaining(['Orm', 'SessionLogger', 'LocalDatabaseServer']),
    );
  });
});
