import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const MAIN = join(import.meta.dirname, '../../server/main.ts');

export interface RunningProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

/** Runs Visite's real entry point as a child process with exactly the given environment. */
export function runMain(env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Polls until `check` returns a value that is not undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The environment of a Visite process for the run's Synapse and Postgres with this bot account. */
export function processEnv(
  homeserver: { url: string },
  bot: { userId: string; password: string },
  databaseUrl: string,
  port: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    VISITE_HOMESERVER_URL: homeserver.url,
    VISITE_BOT_USER_ID: bot.userId,
    VISITE_BOT_PASSWORD: bot.password,
    DATABASE_URL: databaseUrl,
    VISITE_HTTP_PORT: String(port),
    // The run's database is shared by every test file: organisations' bot accounts of other tests are not ours to run.
    VISITE_BOT_ACCOUNTS: 'environment',
    ...extra,
  };
}
