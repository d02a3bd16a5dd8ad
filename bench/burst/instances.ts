/**
 * Visite instances for bench/burst.ts: each the real entry point
 * (server/main.ts) as its own process, started like `npm start` (same Node
 * flags), with its log in a file and its memory sampled from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Instance {
  readonly id: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly exited: Promise<number | null>;
  /** Peak resident set in MB: VmHWM of the process (kept after it exits). */
  peakRssMb(): number;
  /** Resident set now, MB. */
  rssMb(): number;
  kill(): void;
  stop(): Promise<void>;
}

function procStatus(pid: number | undefined): { rssKb: number; hwmKb: number } | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
  } catch {
    return null;
  }
}

/** Starts `server/main.ts` under `root` with exactly `env` (plus PATH and HOME). */
export function startInstance(root: string, id: string, port: number, env: Record<string, string>, logDir: string): Instance {
  const logPath = join(logDir, `${id}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, ['--max-semi-space-size=8', join(root, 'server/main.ts')], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, VISITE_INSTANCE_ID: id, VISITE_HTTP_PORT: String(port) },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hwmKb = 0;
  let rssKb = 0;
  const sample = () => {
    const s = procStatus(child.pid);
    if (s) {
      hwmKb = Math.max(hwmKb, s.hwmKb, s.rssKb);
      rssKb = s.rssKb;
    }
  };
  const sampler = setInterval(sample, 250);
  void exited.then(() => clearInterval(sampler));
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    child,
    logPath,
    exited,
    peakRssMb: () => (sample(), hwmKb / 1024),
    rssMb: () => (sample(), rssKb / 1024),
    kill() {
      sample();
      child.kill('SIGKILL');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      sample();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Readiness {
  status: string;
  instanceId?: string;
  checks?: Record<string, string>;
  accounts?: Array<{ userId: string; instanceId?: string | null; [key: string]: unknown }>;
}

export async function readyz(instance: Instance): Promise<{ code: number; body: Readiness } | null> {
  try {
    const res = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return { code: res.status, body: (await res.json()) as Readiness };
  } catch {
    return null;
  }
}

/** Waits until /readyz answers 200 (ready or degraded); fails with the log's tail if the process exits. */
export async function waitReady(instance: Instance, timeoutMs = 120_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    if (instance.child.exitCode !== null) throw new Error(`instance ${instance.id} exited with ${instance.child.exitCode}:\n${tail(instance.logPath)}`);
    const r = await readyz(instance);
    if (r?.code === 200) return r.body;
    last = r?.body ?? last;
    if (Date.now() > deadline)
      throw new Error(`instance ${instance.id} not ready after ${timeoutMs / 1000} s: ${JSON.stringify(last)}\n${tail(instance.logPath)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
