import { z } from 'zod';

/**
 * The `file` object of an encrypted attachment (CS API v1.11, "Sending
 * encrypted attachments"): in encrypted rooms m.image, m.file, … carry it
 * instead of `url`. Pure: decryption is in bots/crypto.ts.
 */
export const encryptedFile = z.object({
  url: z.string().startsWith('mxc://'),
  v: z.literal('v2'),
  key: z.object({ kty: z.literal('oct'), alg: z.literal('A256CTR'), k: z.string(), key_ops: z.array(z.string()), ext: z.literal(true) }),
  iv: z.string(),
  hashes: z.object({ sha256: z.string() }).catchall(z.string()),
});
export type EncryptedFile = z.infer<typeof encryptedFile>;
