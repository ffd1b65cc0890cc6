// Peak memory of a server during one phase: the process and its children (a zot-ts started with
// `http.workers` > 1 is a primary and its workers).
// Linux keeps each process's peak itself (VmHWM); writing "5" to /proc/PID/clear_refs resets it to
// the current RSS, so the peak read at the end covers exactly the phase. For several processes the
// sum of their peaks is reported (an upper bound: they need not peak at the same moment), beside
// the largest sum of RSS sampled every 50 ms. PSS (proportional set size: pages shared between the
// processes, such as node's own code, counted once overall) is sampled too: the memory a
// multi-process server really takes.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

function readStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return { rss: undefined, hwm: undefined };
  }
}

function readPss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it. */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start after the last ')': state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [];
  const visit = (p) => {
    tree.push(p);
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return tree;
}

export class RssSampler {
  constructor(pid, intervalMs = 50) {
    this.pid = pid;
    this.intervalMs = intervalMs;
    this.peak = 0;
    this.peakPss = 0;
    this.resetWorked = false;
    this.pids = [pid];
  }

  start() {
    this.pids = processTree(this.pid);
    this.resetWorked = true;
    for (const pid of this.pids) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        this.resetWorked = false;
      }
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample() {
    let rss = 0;
    let pss = 0;
    for (const pid of this.pids) {
      rss += readStatus(pid).rss ?? 0;
      if (this.pids.length > 1) pss += readPss(pid) ?? 0;
    }
    if (rss > this.peak) this.peak = rss;
    if (pss > this.peakPss) this.peakPss = pss;
  }

  /** Stops sampling; returns the peak RSS in bytes seen during the phase (summed over the processes). */
  stop() {
    clearInterval(this.timer);
    this.sample();
    if (this.resetWorked) {
      const hwm = this.pids.reduce((sum, pid) => sum + (readStatus(pid).hwm ?? 0), 0);
      if (hwm > this.peak) this.peak = hwm;
    }
    return this.peak;
  }

  /** With several processes: the largest sampled sum of their PSS, in bytes; undefined for one process. */
  peakProportional() {
    return this.pids.length > 1 ? this.peakPss : undefined;
  }
}

/** Current RSS of a process in bytes (undefined once it is gone). */
export function currentRss(pid) {
  return readStatus(pid).rss;
}
