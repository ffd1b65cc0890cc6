#!/usr/bin/env node
// Removes compiled files whose TypeScript source is gone (a moved or deleted module): `tsc -b` never deletes
// them, so they would be packed into a tarball (`prepack` runs this first) or run as tests (setup runs it before
// the build). A file is kept when it is what the current build emits for an existing source:
// dist/<path>.js, .js.map and .d.ts (and .d.ts.map with declaration maps on) for <path>.ts.
//   node scripts/prune-stale-dist.mjs              every package and examples/
//   node scripts/prune-stale-dist.mjs packages/koa one package folder (a package's prepack passes ".")
import { existsSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8')).compilerOptions ?? {};
const SUFFIXES = ['.js', '.js.map', '.d.ts', ...(base.declarationMap ? ['.d.ts.map'] : [])];

function projects() {
  const packages = join(repoRoot, 'packages');
  return [
    ...readdirSync(packages, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(packages, e.name)),
    join(repoRoot, 'examples'),
  ];
}

/** Deletes stale files under `dir` (the project's dist/ or a folder in it); returns how many, and removes emptied folders. */
function prune(project, dir) {
  let removed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removed += prune(project, path);
      if (readdirSync(path).length === 0) rmdirSync(path);
      continue;
    }
    if (entry.name.endsWith('.tsbuildinfo')) continue;
    const suffix = SUFFIXES.filter((s) => entry.name.endsWith(s)).sort((a, b) => b.length - a.length)[0];
    const source = suffix && join(project, `${relative(join(project, 'dist'), path).slice(0, -suffix.length)}.ts`);
    if (source && existsSync(source)) continue;
    unlinkSync(path);
    removed++;
  }
  return removed;
}

const targets = process.argv.length > 2 ? process.argv.slice(2).map((p) => resolve(p)) : projects();
for (const project of targets) {
  const dist = join(project, 'dist');
  if (!existsSync(dist)) continue;
  const removed = prune(project, dist);
  if (removed > 0) console.log(`prune-stale-dist: removed ${removed} stale file(s) from ${relative(repoRoot, dist) || dist}`);
}
