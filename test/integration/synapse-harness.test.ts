import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startSynapse, SynapseError } from '../../scripts/synapse.ts';

const dir = mkdtempSync(join(tmpdir(), 'visite-synapse-'));
let blocker: Server | undefined;
afterAll(() => {
  blocker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local Synapse harness', () => {
  it("fails with Synapse's own reason, not a timeout, when Synapse cannot start", async () => {
    const port = await freePort();
    blocker = createServer().listen(port, '127.0.0.1');
    const started = Date.now();
    const error = await startSynapse({ dir, port, timeoutMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SynapseError);
    expect((error as Error).message).toMatch(/exited with code \d+ before answering/);
    expect((error as Error).message).toMatch(/Address already in use|CannotListenError/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
