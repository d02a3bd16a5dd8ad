import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const binding = require('../../../packages/matrix-sdk-crypto-nodejs/index.cjs') as Record<string, unknown>;

/** Every `<binding>.Name` member access in matrix-bot-sdk's compiled sources. */
function namesUsedByBotSdk(): string[] {
  const root = join(require.resolve('matrix-bot-sdk'), '..');
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/matrix_sdk_crypto_nodejs_1\.([A-Za-z]+)/g)) names.add(match[1]!);
      }
    }
  };
  walk(root);
  return [...names].sort();
}

describe('the wasm stand-in for matrix-sdk-crypto-nodejs', () => {
  it('is what matrix-bot-sdk gets when it requires the native binding', () => {
    const resolved = require.resolve('@matrix-org/matrix-sdk-crypto-nodejs', { paths: [require.resolve('matrix-bot-sdk')] });
    expect(resolved).toMatch(/matrix-sdk-crypto-nodejs[\\/]index\.cjs$/);
    expect(require(resolved).StoreType).toEqual({ Sled: 0, Sqlite: 1 });
  });

  it('exports every name matrix-bot-sdk accesses', () => {
    const used = namesUsedByBotSdk();
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((name) => binding[name] === undefined)).toEqual([]);
  });

  it('lets matrix-bot-sdk load', () => {
    const sdk = require('matrix-bot-sdk') as Record<string, unknown>;
    expect(typeof sdk['MatrixClient']).toBe('function');
    expect(typeof sdk['RustSdkCryptoStorageProvider']).toBe('function');
  });
});
