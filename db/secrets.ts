import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * Secrets kept in the database (the bot's access token, later bot accounts'
 * credentials) are sealed with AES-256-GCM under a key from the environment,
 * so a copy of the database or its WAL does not hand out the bot's identity.
 * Sealed values look like `sealed:v1:<base64 iv|tag|ciphertext>`.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  /** Opens a sealed value; a value stored before sealing existed (plain) is returned as it is. */
  open(stored: string): string;
  /** Whether this box really encrypts (false only in development without any key). */
  readonly encrypting: boolean;
}

const PREFIX = 'sealed:v1:';

export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** A box from a 32-byte key, or from a passphrase (scrypt). */
export function secretBox(source: { key: Buffer } | { passphrase: string } | null): SecretBox {
  if (!source) {
    return {
      encrypting: false,
      seal: (plaintext) => plaintext,
      open(stored) {
        if (isSealed(stored)) throw new SecretKeyError('a secret in the database is sealed: set VISITE_SECRET_KEY (or the crypto passphrase) that sealed it');
        return stored;
      },
    };
  }
  const key = 'key' in source ? source.key : scryptSync(source.passphrase, 'visite secrets v1', 32, { N: 1 << 14, r: 8, p: 1 });
  if (key.length !== 32) throw new SecretKeyError('the secret key must be 32 bytes');
  return {
    encrypting: true,
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(stored) {
      if (!isSealed(stored)) return stored;
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretKeyError('a secret in the database cannot be opened with this key (VISITE_SECRET_KEY or the crypto passphrase changed?)');
      }
    },
  };
}
