// The ES module entry against the declarations: its named exports are exactly the values
// lib/index.d.ts declares (read with the TypeScript compiler, so a name added on one side
// only fails here), and they are the CommonJS module's own objects.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

import * as esm from 'concur-native';
import concurDefault, { DEFAULT_BASE_URL, Client, nativeToken, version } from 'concur-native';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const lib = path.join(here, '..', 'lib');

/** The names of the values (not types) a declaration file exports, as TypeScript sees them. */
function declaredValues(file) {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source, `TypeScript did not read ${file}`);
  const diagnostics = ts.getPreEmitDiagnostics(program, source);
  assert.deepEqual(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), []);
  const module = checker.getSymbolAtLocation(source);
  return checker
    .getExportsOfModule(module)
    .filter((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((symbol) => symbol.name)
    .sort();
}

describe('the ES module entry', () => {
  it('has named exports exactly the values index.d.ts declares, plus the default', () => {
    const declared = declaredValues(path.join(lib, 'index.d.ts'));
    assert.ok(declared.includes('DEFAULT_BASE_URL') && declared.includes('Client'), declared.join());
    const named = Object.keys(esm).filter((name) => name !== 'default').sort();
    assert.deepEqual(named, declared);
  });

  it('declares for ESM what it exports: index.d.mts has the same values and a default', () => {
    const declared = declaredValues(path.join(lib, 'index.d.mts'));
    assert.deepEqual(declared, Object.keys(esm).sort());
  });

  it('exports the CommonJS module’s own objects; only the test hook stays CommonJS-only', () => {
    const cjs = require('concur-native');
    assert.equal(concurDefault, cjs);
    for (const name of Object.keys(esm).filter((n) => n !== 'default')) {
      assert.equal(esm[name], cjs[name], name);
    }
    const onlyCjs = Object.keys(cjs).filter((name) => !(name in esm));
    assert.deepEqual(onlyCjs, ['_panicForTests']);
  });

  it('named imports work and hold real values', () => {
    assert.equal(DEFAULT_BASE_URL, 'https://www.concursolutions.com');
    assert.equal(typeof Client, 'function');
    assert.equal(typeof nativeToken, 'function');
    assert.equal(version, require('../package.json').version);
  });
});
