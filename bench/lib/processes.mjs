// Every process the benchmark starts goes through here, so that all of them are stopped by PID on exit,
// on Ctrl-C and on errors. Each child leads its own process group (nginx forks workers), and the
// group is killed after the leader is gone, so no worker outlives the run.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** pid -> { name, child, exited } */
const running = new Map();

/**
 * Starts a long-running process with stdout and stderr appended to `logFile`.
 * Returns { name, pid, child, exited (Promise of {code, signal}), logFile }.
 */
export function startProcess(name, command, args, { env, cwd, logFile } = {}) {
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(command, args, {
    cwd,
    env: env ?? process.env,
    detached: true, // own process group: Ctrl-C in the terminal reaches only us; we stop children in order
    stdio: ['ignore', fd, fd],
  });
  if (typeof fd === 'number') closeSync(fd);
  const handle = { name, child, pid: child.pid, logFile, exitInfo: undefined };
  handle.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      handle.exitInfo = { code, signal };
      running.delete(child.pid);
      resolve(handle.exitInfo);
    });
    child.once('error', (err) => {
      handle.exitInfo = { code: null, signal: null, error: err };
      running.delete(child.pid);
      resolve(handle.exitInfo);
    });
  });
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  running.set(child.pid, handle);
  return handle;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Stops one process: `signal` first (SIGTERM lets node write its --cpu-prof file), SIGKILL after `graceMs`. */
export async function stopProcess(handle, { signal = 'SIGTERM', graceMs = 15000 } = {}) {
  if (!handle) return;
  if (handle.exitInfo === undefined) {
    try {
      process.kill(handle.pid, signal);
    } catch {
      // already gone
    }
    let timer;
    const timedOut = await Promise.race([
      handle.exited.then(() => false),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs, true))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      killGroup(handle.pid, 'SIGKILL');
      await handle.exited;
    }
  }
  // Leftover group members (nginx workers) go too.
  killGroup(handle.pid, 'SIGKILL');
}

export async function stopAll() {
  await Promise.all([...running.values()].map((h) => stopProcess(h, { graceMs: 5000 })));
}

/** Last resort on process exit: nothing async is possible any more. */
function killAllNow() {
  for (const pid of running.keys()) {
    killGroup(pid, 'SIGKILL');
    try {
      process.kill(pid, 'SIGKILL'); // children of runCommand share our group
    } catch {
      // already gone
    }
  }
}

let installed = false;
/** Stops every child on Ctrl-C, SIGTERM and on the way out of the process. */
export function installCleanup(onInterrupt) {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, async () => {
      process.stderr.write(`\nbench: ${signal}: stopping the servers it started\n`);
      try {
        await stopAll();
        if (onInterrupt) await onInterrupt();
      } finally {
        process.exit(130);
      }
    });
  }
}

/** Runs a command to completion; resolves { code, stdout, stderr } (never rejects on a non-zero exit). */
export function runCommand(command, args, { env, cwd, input, timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const handle = { name: command, child, pid: child.pid, exitInfo: undefined };
    handle.exited = new Promise((done) => child.once('close', (code, signal) => done((handle.exitInfo = { code, signal }))));
    running.set(child.pid, handle);
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    let timer;
    if (timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      running.delete(child.pid);
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      running.delete(child.pid);
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    if (input !== undefined) {
      child.stdin.once('error', () => undefined); // EPIPE when it exits without reading: its exit code tells
      child.stdin.end(input);
    }
  });
}

/** Runs a command and throws with its output when it fails. */
export async function runChecked(command, args, options) {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`\`${command} ${args.join(' ')}\` failed (exit ${result.code ?? result.signal})\n${output}`);
  }
  return result;
}

/** The last lines of a log file, for error messages. */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
