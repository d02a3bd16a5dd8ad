import { describe, expect, it } from 'vitest';
import { encryptedFile } from '../../../bots/encrypted-file.ts';

const file = {
  url: 'mxc://example.org/abc',
  v: 'v2',
  key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: 'qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA', ext: true },
  iv: 'X85+XgHN+HEAAAAAAAAAAA',
  hashes: { sha256: '5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9uds4rSak37c' },
};

describe('the encrypted attachment `file` object', () => {
  it('accepts what Element sends', () => {
    expect(encryptedFile.safeParse(file).success).toBe(true);
  });

  it('refuses anything else: no mxc URL, another version or cipher, no hash', () => {
    expect(encryptedFile.safeParse({ ...file, url: 'https://example.org/abc' }).success).toBe(false);
    expect(encryptedFile.safeParse({ ...file, v: 'v1' }).success).toBe(false);
    expect(encryptedFile.safeParse({ ...file, key: { ...file.key, alg: 'A128CBC' } }).success).toBe(false);
    expect(encryptedFile.safeParse({ ...file, hashes: {} }).success).toBe(false);
    expect(encryptedFile.safeParse(undefined).success).toBe(false);
  });
});
