import fs from 'node:fs';
import { resolve, sep } from 'node:path';

/**
 * Files under the folders registered here never get group or world access
 * bits. PGlite's Emscripten file system (NODEFS) applies Postgres's emulated
 * modes with `chmod`, which ignores the umask and leaves every table and WAL
 * segment at 0666; the embedded database holds patient data and the bot's
 * session. So the process's `chmodSync`, `mkdirSync` and `writeFileSync` strip those bits
 * for paths inside these folders (and `fchmodSync` always: only PGlite
 * changes modes through file descriptors in Visite); new folders there are 0700.
 */
const folders = new Set<string>();
let installed = false;

const inside = (path: unknown) => {
  if (typeof path !== 'string' && !(path instanceof URL)) return false;
  const full = resolve(path instanceof URL ? path.pathname : path);
  for (const dir of folders) if (full === dir || full.startsWith(dir + sep)) return true;
  return false;
};
const ownerBits = (mode: fs.Mode) => (typeof mode === 'number' ? mode & 0o700 : parseInt(mode, 8) & 0o700);

export function keepPrivate(dir: string): void {
  folders.add(resolve(dir));
  if (installed) return;
  installed = true;
  const { chmodSync, fchmodSync, mkdirSync, writeFileSync } = fs;
  fs.chmodSync = (path, mode) => chmodSync(path, inside(path) ? ownerBits(mode) : mode);
  fs.fchmodSync = (fd, mode) => fchmodSync(fd, ownerBits(mode));
  fs.mkdirSync = ((path: fs.PathLike, options?: fs.Mode | fs.MakeDirectoryOptions | null) => {
    if (!inside(path)) return mkdirSync(path, options as fs.MakeDirectoryOptions);
    const mode = typeof options === 'object' && options !== null ? options.mode : options;
    const rest = typeof options === 'object' && options !== null ? options : {};
    return mkdirSync(path, { ...rest, mode: mode === undefined || mode === null ? 0o700 : ownerBits(mode) });
  }) as typeof fs.mkdirSync;
  fs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, options?: fs.WriteFileOptions) => {
    if (inside(file) && options && typeof options === 'object' && options.mode !== undefined) options = { ...options, mode: ownerBits(options.mode) };
    return writeFileSync(file, data, options);
  }) as typeof fs.writeFileSync;
}
