/**
 * A real Synapse homeserver on loopback for tests and the demo.
 *
 * Synapse comes from PyPI at a pinned version, installed once into a cached
 * virtualenv. A fresh SQLite database spends most of Synapse's start-up on
 * schema migrations, so we migrate one template database per version and copy
 * it for every new instance: later starts take a few seconds.
 *
 * Usage as a command:  node scripts/synapse.ts install | start [DIR]   (start serves until Ctrl-C)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const SYNAPSE_VERSION = '1.163.2';
export const SERVER_NAME = 'localhost';

export function cacheDir(): string {
  return process.env['VISITE_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'visite');
}

const venvDir = (): string => join(cacheDir(), `synapse-${SYNAPSE_VERSION}`);
const python = (): string => join(venvDir(), 'bin', 'python');

export class SynapseError extends Error {
  override name = 'SynapseError';
}

function run(cmd: string, args: string[], what: string): void {
  const result = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error || result.status !== 0) {
    const detail = result.error?.message ?? lastLines(`${result.stdout}\n${result.stderr}`, 15);
    throw new SynapseError(`${what} failed (${cmd} ${args.join(' ')}):\n${detail}`);
  }
}

function lastLines(text: string, n: number): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('WARNING: Location'))
    .slice(-n)
    .join('\n');
}

/** Installs the pinned Synapse into the cached virtualenv unless it is already there. */
export function ensureInstalled(log: (line: string) => void = () => {}): void {
  const marker = join(venvDir(), '.visite-installed');
  if (existsSync(marker)) return;
  const py = process.env['VISITE_PYTHON'] ?? 'python3';
  log(`installing matrix-synapse==${SYNAPSE_VERSION} into ${venvDir()} (once)`);
  rmSync(venvDir(), { recursive: true, force: true });
  mkdirSync(cacheDir(), { recursive: true });
  run(py, ['-m', 'venv', venvDir()], 'creating the Synapse virtualenv (is Python 3 with venv installed?)');
  run(python(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `matrix-synapse==${SYNAPSE_VERSION}`], 'pip install matrix-synapse');
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

const LIMIT = { per_second: 1000, burst_count: 1000 };

function configYaml(dir: string, port: number, secret: string): string {
  // JSON is valid YAML; it spares us a YAML writer and quoting mistakes.
  const config = {
    server_name: SERVER_NAME,
    public_baseurl: `http://127.0.0.1:${port}/`,
    pid_file: join(dir, 'homeserver.pid'),
    listeners: [{ port, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client'], compress: false }] }],
    database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
    log_config: join(dir, 'log.config'),
    media_store_path: join(dir, 'media_store'),
    signing_key_path: join(dir, 'signing.key'),
    registration_shared_secret: secret,
    macaroon_secret_key: secret,
    form_secret: secret,
    enable_registration: false,
    enable_registration_without_verification: true,
    bcrypt_rounds: 4,
    report_stats: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    federation_domain_whitelist: [],
    presence: { enabled: false },
    url_preview_enabled: false,
    rc_message: LIMIT,
    rc_registration: LIMIT,
    rc_registration_token_validity: LIMIT,
    rc_login: { address: LIMIT, account: LIMIT, failed_attempts: LIMIT },
    rc_admin_redaction: LIMIT,
    rc_joins: { local: LIMIT, remote: LIMIT },
    rc_joins_per_room: LIMIT,
    rc_3pid_validation: LIMIT,
    rc_invites: { per_room: LIMIT, per_user: LIMIT, per_issuer: LIMIT },
    rc_third_party_invite: LIMIT,
    rc_media_create: LIMIT,
    rc_room_creation: LIMIT,
    rc_reports: LIMIT,
    rc_delayed_event_mgmt: LIMIT,
    rc_presence: { per_user: LIMIT },
    rc_federation: { window_size: 1000, sleep_limit: 1000, sleep_delay: 0, reject_limit: 1000, concurrent: 100 },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function logConfig(dir: string): string {
  return [
    'version: 1',
    'formatters: {precise: {format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}}',
    'handlers:',
    `  file: {class: logging.FileHandler, formatter: precise, filename: ${JSON.stringify(join(dir, 'homeserver.log'))}}`,
    'root: {level: WARNING, handlers: [file]}',
    'loggers: {synapse.storage.SQL: {level: WARNING}, twisted: {level: WARNING}}',
    'disable_existing_loggers: false',
    '',
  ].join('\n');
}

export interface SynapseInstance {
  readonly url: string;
  readonly serverName: string;
  readonly sharedSecret: string;
  readonly dir: string;
  stop(): Promise<void>;
}

interface StartOptions {
  dir: string;
  port?: number;
  log?: (line: string) => void;
  timeoutMs?: number;
}

function prepareDir(dir: string, port: number, secret: string): string {
  mkdirSync(join(dir, 'media_store'), { recursive: true });
  const configPath = join(dir, 'homeserver.yaml');
  writeFileSync(configPath, configYaml(dir, port, secret));
  writeFileSync(join(dir, 'log.config'), logConfig(dir));
  return configPath;
}

async function waitUntilReady(url: string, child: ChildProcess, dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) {
      throw new SynapseError(`Synapse exited with code ${exited} before answering. Last log lines:\n${tail(dir)}`);
    }
    try {
      const res = await fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new SynapseError(`Synapse did not answer within ${timeoutMs / 1000}s. Last log lines:\n${tail(dir)}`);
}

function tail(dir: string): string {
  const parts: string[] = [];
  for (const file of ['stderr.log', 'homeserver.log']) {
    const path = join(dir, file);
    if (existsSync(path)) parts.push(lastLines(readFileSync(path, 'utf8'), 20));
  }
  return parts.join('\n') || '(no log output)';
}

function spawnSynapse(configPath: string, dir: string): ChildProcess {
  const err = openSync(join(dir, 'stderr.log'), 'a');
  return spawn(python(), ['-m', 'synapse.app.homeserver', '-c', configPath], {
    cwd: dir,
    stdio: ['ignore', err, err],
    env: { ...process.env, SYNAPSE_ASYNC_IO_REACTOR: '0' },
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
}

/** Migrates a template database once per Synapse version (the slow part of a first start). */
async function ensureTemplate(log: (line: string) => void): Promise<string> {
  const template = join(venvDir(), 'template');
  if (existsSync(join(template, 'ready'))) return template;
  log('preparing a migrated Synapse template database (first start only, ~1 min)');
  rmSync(template, { recursive: true, force: true });
  const port = await freePort();
  const configPath = prepareDir(template, port, randomBytes(16).toString('hex'));
  run(python(), ['-m', 'synapse.app.homeserver', '-c', configPath, '--generate-keys'], 'generating Synapse keys');
  const child = spawnSynapse(configPath, template);
  try {
    await waitUntilReady(`http://127.0.0.1:${port}`, child, template, 300_000);
  } finally {
    await stopper(child)();
  }
  writeFileSync(join(template, 'ready'), `${new Date().toISOString()}\n`);
  return template;
}

/** Starts a Synapse in `dir` (created if needed; an existing instance keeps its data). */
export async function startSynapse(options: StartOptions): Promise<SynapseInstance> {
  const log = options.log ?? (() => {});
  const dir = resolve(options.dir);
  ensureInstalled(log);
  const template = await ensureTemplate(log);
  const port = options.port ?? (await freePort());
  const secretFile = join(dir, 'shared-secret');
  const fresh = !existsSync(join(dir, 'homeserver.db'));
  mkdirSync(dir, { recursive: true });
  if (fresh) {
    copyFileSync(join(template, 'homeserver.db'), join(dir, 'homeserver.db'));
    copyFileSync(join(template, 'signing.key'), join(dir, 'signing.key'));
    writeFileSync(secretFile, randomBytes(24).toString('hex'));
  }
  const secret = readFileSync(secretFile, 'utf8').trim();
  const configPath = prepareDir(dir, port, secret);
  const url = `http://127.0.0.1:${port}`;
  const child = spawnSynapse(configPath, dir);
  await waitUntilReady(url, child, dir, options.timeoutMs ?? 120_000);
  log(`Synapse ${SYNAPSE_VERSION} ready at ${url} (data in ${dir})`);
  return { url, serverName: SERVER_NAME, sharedSecret: secret, dir, stop: stopper(child) };
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

/** Creates a user through Synapse's shared-secret admin registration API. */
export async function registerUser(
  homeserver: { url: string; sharedSecret: string },
  localpart: string,
  password: string = randomBytes(12).toString('hex'),
  admin = false,
): Promise<RegisteredUser> {
  const endpoint = `${homeserver.url}/_synapse/admin/v1/register`;
  const nonceRes = await fetch(endpoint);
  if (!nonceRes.ok) throw new SynapseError(`register nonce: HTTP ${nonceRes.status}`);
  const { nonce } = (await nonceRes.json()) as { nonce: string };
  const mac = createHmac('sha1', homeserver.sharedSecret)
    .update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0'))
    .digest('hex');
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
  });
  const body = (await res.json()) as { user_id?: string; access_token?: string; device_id?: string; error?: string };
  if (!res.ok || !body.user_id || !body.access_token) {
    throw new SynapseError(`registering ${localpart}: HTTP ${res.status} ${body.error ?? ''}`);
  }
  return { userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id ?? '', password };
}

async function main(argv: string[]): Promise<void> {
  const [command = 'start', dirArg] = argv;
  const dir = resolve(dirArg ?? 'var/synapse');
  const log = (line: string) => console.error(`synapse: ${line}`);
  switch (command) {
    case 'install':
      ensureInstalled(log);
      await ensureTemplate(log);
      return;
    case 'start': {
      const instance = await startSynapse({ dir, log });
      console.log(JSON.stringify({ url: instance.url, sharedSecret: instance.sharedSecret, dir }));
      log('running; Ctrl-C stops it');
      const stop = () => void instance.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    default:
      throw new SynapseError(`unknown command "${command}" (expected: install | start [DIR])`);
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`synapse: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
