/**
 * A real OpenLDAP slapd for tests: writes slapd.conf and the entries into a folder, starts slapd
 * on free loopback ports (plain, and LDAPS + StartTLS when given certificates), and stops exactly
 * the process it started. Needs Debian's `slapd` and `ldap-utils` packages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { run } from './run.js';

export interface LdapTestUser {
  uid: string;
  password: string;
  /** Defaults to the uid. */
  cn?: string;
}

export interface LdapTestGroup {
  cn: string;
  /** uids of the members. */
  members: readonly string[];
}

export interface SlapdOptions {
  /** Folder for the config, database and logs (created; should be empty). */
  dir: string;
  users: readonly LdapTestUser[];
  groups?: readonly LdapTestGroup[];
  /** Serve LDAPS and StartTLS with this certificate (it needs IP:127.0.0.1 in its SAN). */
  tls?: { cert: string; key: string; ca: string };
  suffix?: string;
}

export interface SlapdServer {
  readonly suffix: string;
  readonly peopleDN: string;
  readonly groupsDN: string;
  /** The service account used for searches, and its password. */
  readonly bindDN: string;
  readonly bindPassword: string;
  readonly port: number;
  readonly ldapsPort?: number;
  readonly pid: number | undefined;
  /** Stops the slapd this helper started (by its PID); resolves when it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same data. */
  start(): Promise<void>;
  /** The last lines slapd wrote (its `-d stats` log), for failure messages. */
  log(): string;
  /** Simple binds slapd received for DNs containing `dnPart` (counted from its stats log). */
  bindCount(dnPart: string): number;
}

export function slapdAvailable(): boolean {
  return ['/usr/sbin/slapd', '/usr/bin/ldapadd'].every((path) => existsSync(path));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const ROOT_PASSWORD = 'root-secret';
const SERVICE_PASSWORD = 'reader-secret';

export async function startSlapd(options: SlapdOptions): Promise<SlapdServer> {
  const suffix = options.suffix ?? 'dc=example,dc=org';
  const dc = /^dc=([^,]+)/.exec(suffix)?.[1] ?? 'example';
  const dir = options.dir;
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const rootDN = `cn=admin,${suffix}`;
  const peopleDN = `ou=people,${suffix}`;
  const groupsDN = `ou=groups,${suffix}`;
  const bindDN = `cn=reader,${suffix}`;

  // slapd gets its own copies of the TLS files: they must belong to the user it runs as, and the
  // caller's files (perhaps also used by the registry) stay untouched.
  const tlsFiles = options.tls
    ? { ca: join(dir, 'tls-ca.crt'), cert: join(dir, 'tls-server.crt'), key: join(dir, 'tls-server.key') }
    : undefined;
  if (options.tls && tlsFiles) {
    await copyFile(options.tls.ca, tlsFiles.ca);
    await copyFile(options.tls.cert, tlsFiles.cert);
    await copyFile(options.tls.key, tlsFiles.key);
    await chmod(tlsFiles.key, 0o600);
  }
  const tlsLines = tlsFiles
    ? [`TLSCACertificateFile ${tlsFiles.ca}`, `TLSCertificateFile ${tlsFiles.cert}`, `TLSCertificateKeyFile ${tlsFiles.key}`]
    : [];
  const conf = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((schema) => `include /etc/ldap/schema/${schema}.schema`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    ...tlsLines,
    'database mdb',
    'maxsize 16777216',
    `suffix "${suffix}"`,
    `rootdn "${rootDN}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${dataDir}`,
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    // Passwords: only for binding. Everything else: readable by bound users (the service
    // account), not by anonymous clients, so the service bind really matters.
    'access to attrs=userPassword by anonymous auth by self read by * none',
    'access to * by users read by anonymous auth by * none',
    '',
  ].join('\n');
  const confPath = join(dir, 'slapd.conf');
  await writeFile(confPath, conf);

  const entries: string[] = [
    `dn: ${suffix}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: ${dc}\ndc: ${dc}\n`,
    `dn: ${peopleDN}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${groupsDN}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ${bindDN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${SERVICE_PASSWORD}\n`,
    ...options.users.map(
      (u) =>
        `dn: uid=${u.uid},${peopleDN}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.cn ?? u.uid}\nsn: ${u.uid}\n` +
        `userPassword: ${u.password}\n`,
    ),
    ...(options.groups ?? []).map(
      (g) =>
        `dn: cn=${g.cn},${groupsDN}\nobjectClass: groupOfNames\ncn: ${g.cn}\n` +
        g.members.map((m) => `member: uid=${m},${peopleDN}\n`).join(''),
    ),
  ];
  const ldifPath = join(dir, 'data.ldif');
  await writeFile(ldifPath, entries.join('\n'));

  // As root, slapd runs as the openldap user (it refuses nothing as root, but tests should not
  // run a network daemon as root); its folder and TLS files must then be readable by that user.
  const asRoot = userInfo().uid === 0 && existsSync('/usr/sbin/slapd');
  let runAs: string[] = [];
  if (asRoot) {
    const ids = await run('id', ['-u', 'openldap']).then(
      async (uid) => ({ uid: Number(uid.trim()), gid: Number((await run('id', ['-g', 'openldap'])).trim()) }),
      () => undefined,
    );
    if (ids) {
      runAs = ['-u', 'openldap', '-g', 'openldap'];
      for (const path of [dir, dataDir, confPath, ldifPath, ...(tlsFiles ? Object.values(tlsFiles) : [])]) {
        await chown(path, ids.uid, ids.gid);
      }
      await allowTraversal(dirname(dir));
    }
  }

  const port = await freePort();
  const ldapsPort = options.tls ? await freePort() : undefined;
  const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])].join(' ');

  let child: ChildProcess | undefined;
  let logTail = '';
  let partialLine = '';
  const binds: string[] = [];
  let loaded = false;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null) return;
    logTail = '';
    // `exec` keeps the PID: the one we kill is slapd itself. A small fd limit keeps its memory small.
    const proc = spawn(
      'bash',
      ['-c', 'ulimit -n 1024; exec /usr/sbin/slapd "$@"', 'slapd', '-f', confPath, '-h', urls, '-d', 'stats', ...runAs],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = proc;
    // If the test process ends without stop() (a crash, a cancelled suite), this slapd goes too.
    const killOnExit = (): void => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    proc.once('exit', () => process.off('exit', killOnExit));
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      logTail = (logTail + chunk).slice(-8000);
      const lines = (partialLine + chunk).split('\n');
      partialLine = lines.pop() ?? '';
      for (const line of lines) {
        const bind = /BIND dn="([^"]*)" method=128/.exec(line);
        if (bind) binds.push(bind[1]!);
      }
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => reject(new Error(`slapd exited (${code ?? signal}) while starting:\n${logTail}`)));
    });
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 10_000), exited]);
    if (!loaded) {
      await run('ldapadd', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-D', rootDN, '-w', ROOT_PASSWORD, '-f', ldifPath]);
      loaded = true;
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  };

  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    suffix,
    peopleDN,
    groupsDN,
    bindDN,
    bindPassword: SERVICE_PASSWORD,
    port,
    ...(ldapsPort ? { ldapsPort } : {}),
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    log: () => logTail,
    bindCount: (dnPart: string) => binds.filter((dn) => dn.includes(dnPart)).length,
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Lets the slapd user reach its folder: adds the search (x) bit for others on the ancestors that
 * lack it (mkdtemp folders are 0700). Listing stays forbidden; only traversal is allowed.
 */
async function allowTraversal(from: string): Promise<void> {
  for (let path = from; path !== dirname(path); path = dirname(path)) {
    const mode = (await stat(path)).mode;
    if ((mode & 0o001) === 0) await chmod(path, (mode & 0o7777) | 0o001);
  }
}
