import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { EncryptedFile } from './encrypted-file.ts';
import { decryptAttachment } from './crypto.ts';
import { downloadMedia } from './media.ts';
import type { FhirFile } from './render.ts';

/**
 * Large FHIR resources travel as encrypted files (gematik fhir.json
 * `de.gematik.fhir.file`, CS API v1.11 encrypted attachments).
 *
 * Sending must survive a crash at any point without uploading or posting
 * twice, so it happens in steps, each repeatable:
 * 1. reserve: a media id from the homeserver (`POST /_matrix/media/v1/create`)
 *    and a fresh key and IV — kept in the outbox row before anything is uploaded;
 * 2. upload: the resource encrypted with that key and IV (AES-CTR: the same
 *    bytes every time) to that media id (`PUT /_matrix/media/v3/upload/…`); a
 *    second upload is refused with M_CANNOT_OVERWRITE_MEDIA, which means done;
 * 3. post the event with the row's fixed transaction id (the homeserver
 *    deduplicates a resend).
 */
export interface ReservedFile {
  /** mxc:// URI reserved for the upload. */
  url: string;
  /** AES-256 key (base64url) and IV (unpadded base64). */
  k: string;
  iv: string;
}

export interface MediaAccess {
  homeserverUrl: string;
  accessToken(): string;
}

class MediaError extends Error {
  readonly statusCode: number;
  readonly errcode: string | undefined;
  constructor(message: string, statusCode: number, errcode: string | undefined) {
    super(message);
    this.name = 'MediaError';
    this.statusCode = statusCode;
    this.errcode = errcode;
  }
}

async function fail(res: Response, what: string): Promise<never> {
  const body = (await res.json().catch(() => ({}))) as { errcode?: string; retry_after_ms?: number };
  throw Object.assign(
    new MediaError(`${what}: HTTP ${res.status}`, res.status, body.errcode),
    body.retry_after_ms !== undefined ? { retryAfterMs: body.retry_after_ms } : {},
  );
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** Step 1: a media id and a key, nothing uploaded yet. */
export async function reserveFile(access: MediaAccess): Promise<ReservedFile> {
  const res = await fetch(`${access.homeserverUrl}/_matrix/media/v1/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access.accessToken()}`, 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) await fail(res, 'media create');
  const { content_uri } = (await res.json()) as { content_uri: string };
  // The IV's counter half starts at zero (CS API: encrypted attachments).
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  return { url: content_uri, k: randomBytes(32).toString('base64url'), iv: b64(iv) };
}

/** The ciphertext of a resource under a reserved key, and the file fields an event carries. Deterministic. */
export function encryptReserved(plain: Uint8Array, reserved: ReservedFile): { data: Uint8Array; file: FhirFile } {
  const cipher = createCipheriv('aes-256-ctr', Buffer.from(reserved.k, 'base64url'), Buffer.from(reserved.iv, 'base64'));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    data,
    file: {
      url: reserved.url,
      size: plain.byteLength,
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: reserved.k, ext: true },
      iv: reserved.iv,
      hashes: { sha256: b64(createHash('sha256').update(data).digest()) },
      v: 'v2',
    },
  };
}

/**
 * Step 2: uploads the ciphertext to the reserved media id. An earlier upload
 * of the same bytes (a resend after a crash) is refused as already there: done.
 * Returns `expired` when the reservation is gone (unused too long): reserve anew.
 */
export async function uploadReserved(
  access: MediaAccess,
  reserved: ReservedFile,
  data: Uint8Array,
  fileName: string,
): Promise<'uploaded' | 'already' | 'expired'> {
  const match = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(reserved.url);
  if (!match) throw new Error('reserved media is not an mxc:// URI');
  const url = new URL(`/_matrix/media/v3/upload/${encodeURIComponent(match[1]!)}/${encodeURIComponent(match[2]!)}`, access.homeserverUrl);
  url.searchParams.set('filename', fileName);
  const res = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${access.accessToken()}`, 'content-type': 'application/octet-stream' },
    body: data,
    signal: AbortSignal.timeout(60_000),
  });
  if (res.ok) return 'uploaded';
  const body = (await res
    .clone()
    .json()
    .catch(() => ({}))) as { errcode?: string };
  if (res.status === 409 && body.errcode === 'M_CANNOT_OVERWRITE_MEDIA') return 'already';
  if (res.status === 404) return 'expired';
  return fail(res, 'media upload');
}

/**
 * A file of a received `de.gematik.fhir` event → the resource: downloaded
 * within the size limit, decrypted when it carries a key, parsed as JSON.
 * Returns the reason it cannot be read instead of throwing.
 */
export async function readFhirFile(
  access: MediaAccess & { maxBytes(): number },
  file: { url: string; mimetype?: string; size?: number; encrypted?: EncryptedFile },
): Promise<{ resource: unknown } | { unreadable: string }> {
  if (file.mimetype === 'application/fhir+xml') return { unreadable: 'XML resources are not supported; send application/fhir+json' };
  const max = access.maxBytes();
  if (file.size !== undefined && file.size > max) return { unreadable: `the file is larger than ${max} bytes` };
  try {
    const downloaded = await downloadMedia(access.homeserverUrl, access.accessToken(), file.url, max);
    if (downloaded === 'too-large') return { unreadable: `the file is larger than ${max} bytes` };
    const plain = file.encrypted ? decryptAttachment(downloaded, file.encrypted) : downloaded;
    return { resource: JSON.parse(Buffer.from(plain).toString('utf8')) as unknown };
  } catch (error) {
    return { unreadable: error instanceof SyntaxError ? 'the file is not JSON' : 'the file could not be downloaded or decrypted' };
  }
}
