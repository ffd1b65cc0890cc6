// Peak resident set size of a server process during one phase.
// Linux keeps the peak itself (VmHWM); writing "5" to /proc/PID/clear_refs resets it to the current RSS,
// so the peak read at the end covers exactly the phase. Sampling VmRSS as well covers kernels or users
// that may not reset it.
import { readFileSync, writeFileSync } from 'node:fs';

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

export class RssSampler {
  constructor(pid, intervalMs = 50) {
    this.pid = pid;
    this.intervalMs = intervalMs;
    this.peak = 0;
    this.resetWorked = false;
  }

  start() {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.resetWorked = true;
    } catch {
      this.resetWorked = false;
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample() {
    const { rss } = readStatus(this.pid);
    if (rss !== undefined && rss > this.peak) this.peak = rss;
  }

  /** Stops sampling; returns the peak RSS in bytes seen during the phase. */
  stop() {
    clearInterval(this.timer);
    this.sample();
    const { hwm } = readStatus(this.pid);
    if (this.resetWorked && hwm !== undefined && hwm > this.peak) this.peak = hwm;
    return this.peak;
  }
}

/** Current RSS of a process in bytes (undefined once it is gone). */
export function currentRss(pid) {
  return readStatus(pid).rss;
}
