/**
 * Media over the authenticated media API (CS API v1.11, `/_matrix/client/v1/media`),
 * which current Synapse requires for new uploads. Downloads stop at the size
 * limit instead of trusting the sender's claimed size.
 */
function mediaPath(mxc: string): string {
  const match = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
  if (!match) throw new Error('not an mxc:// URI');
  return `${encodeURIComponent(match[1]!)}/${encodeURIComponent(match[2]!)}`;
}

export async function uploadLimit(homeserverUrl: string, accessToken: string): Promise<number> {
  const res = await fetch(`${homeserverUrl}/_matrix/client/v1/media/config`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`media config: HTTP ${res.status}`);
  const body = (await res.json()) as { 'm.upload.size'?: number };
  return typeof body['m.upload.size'] === 'number' ? body['m.upload.size'] : Number.POSITIVE_INFINITY;
}

export async function downloadMedia(homeserverUrl: string, accessToken: string, mxc: string, maxBytes: number): Promise<Uint8Array | 'too-large'> {
  const res = await fetch(`${homeserverUrl}/_matrix/client/v1/media/download/${mediaPath(mxc)}`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(60_000),
  });
  if (!res.ok || !res.body) throw Object.assign(new Error(`media download: HTTP ${res.status}`), { statusCode: res.status });
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await res.body.cancel().catch(() => {});
      return 'too-large';
    }
    chunks.push(chunk);
  }
  const data = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return data;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} B`;
}
