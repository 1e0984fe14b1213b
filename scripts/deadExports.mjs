#!/usr/bin/env node
// Lists value exports (functions, classes, constants) of src/ and webview/
// that no other file imports: candidates to un-export or delete. Types are
// left alone: they name the shapes of exported functions. `npm run lint` runs it and fails when it finds any.
//
//   node scripts/deadExports.mjs
//
// An export counts as used when another project file (src, webview, test,
// bench, scripts) imports it by name, re-exports it, or imports its whole
// module as a namespace (then every export of that module counts as used).
// src/index.ts is the engine's library entry for bench/: what it exports is
// public on purpose.
import ts from 'typescript';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const scanned = ['src', 'webview'];
const consumers = ['src', 'webview', 'test', 'bench', 'scripts'];
const publicEntries = new Set(['src/index.ts']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(m?ts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const files = consumers.flatMap((dir) => walk(join(root, dir), []));
const program = ts.createProgram(files, {
  allowJs: true,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  target: ts.ScriptTarget.ES2022,
  noEmit: true,
});
const checker = program.getTypeChecker();

/** Declared symbols (aliases followed) that some file imports. */
const used = new Set();
/** Modules imported as a namespace or with `export *`. */
const wholeModules = new Set();

function target(symbol) {
  return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

for (const file of program.getSourceFiles()) {
  if (file.isDeclarationFile || !files.includes(resolve(file.fileName))) continue;
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const moduleSymbol = checker.getSymbolAtLocation(node.moduleSpecifier);
      const clause = ts.isImportDeclaration(node) ? node.importClause : null;
      if (ts.isExportDeclaration(node) && !node.exportClause) wholeModules.add(moduleSymbol);
      if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamespaceExport(node.exportClause)) wholeModules.add(moduleSymbol);
      if (clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings)) wholeModules.add(moduleSymbol);
      const elements =
        clause?.namedBindings && ts.isNamedImports(clause.namedBindings)
          ? clause.namedBindings.elements
          : ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)
            ? node.exportClause.elements
            : [];
      for (const element of elements) {
        const symbol = checker.getSymbolAtLocation(element.propertyName ?? element.name) ?? checker.getSymbolAtLocation(element.name);
        const resolved = target(symbol);
        if (resolved) used.add(resolved);
      }
      if (clause?.name) used.add(target(checker.getSymbolAtLocation(clause.name)));
    }
    // `import('…')` types and dynamic imports: count the whole module.
    if (ts.isImportTypeNode(node) || (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)) {
      const argument = ts.isImportTypeNode(node) ? node.argument : node.arguments[0];
      const literal = ts.isImportTypeNode(node) && ts.isLiteralTypeNode(argument) ? argument.literal : argument;
      if (literal && ts.isStringLiteral(literal)) {
        const resolvedModule = ts.resolveModuleName(literal.text, file.fileName, program.getCompilerOptions(), ts.sys).resolvedModule;
        if (resolvedModule) wholeModules.add(checker.getSymbolAtLocation(program.getSourceFile(resolvedModule.resolvedFileName)));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

const dead = [];
for (const file of program.getSourceFiles()) {
  const rel = relative(root, file.fileName);
  if (file.isDeclarationFile || !scanned.some((dir) => rel.startsWith(`${dir}/`)) || publicEntries.has(rel)) continue;
  const moduleSymbol = checker.getSymbolAtLocation(file);
  if (!moduleSymbol || wholeModules.has(moduleSymbol)) continue;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const declared = target(exported);
    if (used.has(declared) || used.has(exported)) continue;
    // Types stay exported: they name the shapes of exported functions' parameters and results.
    if (!(declared.flags & ts.SymbolFlags.Value)) continue;
    // Re-exports of something used elsewhere are fine.
    const declaration = declared.declarations?.[0];
    const line = declaration ? file.getLineAndCharacterOfPosition(declaration.getStart()).line + 1 : 0;
    dead.push(`${rel}:${line}  ${exported.name}`);
  }
}

if (dead.length > 0) {
  console.error(`Exports nobody imports (un-export or remove them):\n  ${dead.join('\n  ')}`);
  process.exit(1);
}
console.log('dead exports: none');
