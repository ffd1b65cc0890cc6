/**
 * zot's richer client-certificate identities through `zot-cli serve`: `identityAttributes` tried
 * in order (URI with `uriSanPattern` for SPIFFE IDs, Email, DNSName, CommonName, Subject), each
 * certificate's identity checked by what accessControl lets it do, and a SPIFFE workload pushing
 * with skopeo.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueCertificate, type CertificatePair } from '@zotjs/auth/testing';
import { ClientSandbox, makeImage, skipUnlessPrograms, writeOciLayout } from '../helpers/images.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { clientCertDir, httpsCall, lockDown, makeSecrets, type Secrets } from './support.js';

const skip = skipUnlessPrograms('skopeo', 'openssl');

describe('mTLS identities: identityAttributes and uriSanPattern', { skip }, () => {
  let secrets: Secrets;
  let ordered: RunningServer;
  let bySubject: RunningServer;
  let clients: ClientSandbox;
  const certs: Record<string, CertificatePair> = {};

  before(async () => {
    secrets = await makeSecrets();
    const dir = join(secrets.dir, 'identities');
    const ca = secrets.certs.ca;
    certs.spiffe = await issueCertificate(dir, 'spiffe', ca, 'client', 'ignored-cn', {
      subjectAltName: 'URI:spiffe://example.org/workload/builder,email:not-this@example.org',
    });
    certs.otherTrustDomain = await issueCertificate(dir, 'other-domain', ca, 'client', 'other-cn', {
      subjectAltName: 'URI:spiffe://elsewhere.org/workload/builder',
    });
    certs.email = await issueCertificate(dir, 'email', ca, 'client', 'email-cn', {
      subjectAltName: 'email:ops@example.org,email:second@example.org',
    });
    certs.dns = await issueCertificate(dir, 'dns', ca, 'client', 'dns-cn', { subjectAltName: 'DNS:worker.example.org' });
    certs.cn = await issueCertificate(dir, 'cn', ca, 'client', 'plain-cn');
    certs.subject = await issueCertificate(dir, 'subject', ca, 'client', 'app', { subject: '/C=US/O=Example, Inc/CN=app' });
    await lockDown(secrets);
    const tls = { cert: secrets.certs.server.cert, key: secrets.certs.server.key, cacert: ca.cert };
    const readers = ['ops@example.org', 'worker.example.org', 'plain-cn', 'CN=app,O=Example\\, Inc,C=US'];
    const accessControl = {
      repositories: {
        'apps/**': {
          policies: [
            { users: ['builder'], actions: ['read', 'create', 'update'] },
            { users: readers, actions: ['read'] },
          ],
        },
      },
    };
    ordered = await startServer({
      config: {
        http: {
          tls,
          auth: {
            mtls: {
              identityAttributes: ['URI', 'Email', 'DNSName', 'CommonName'],
              uriSanPattern: '^spiffe://example\\.org/workload/(.+)$',
            },
          },
          accessControl,
        },
      },
    });
    bySubject = await startServer({ config: { http: { tls, auth: { mtls: { identityAttributes: ['Subject'] } }, accessControl } } });
    clients = await ClientSandbox.create('zot-e2e-mtls-id-');
  });

  after(async () => {
    await ordered?.stop();
    await bySubject?.stop();
    await clients?.cleanup();
  });

  const status = async (server: RunningServer, client: CertificatePair, path = '/v2/apps/x/tags/list', method = 'GET') =>
    (await httpsCall(`${server.url}${path}`, { ca: secrets.certs.ca.cert, client, method })).status;

  it('the first attribute a certificate has names it: URI (through the pattern), then Email, DNSName, CommonName', async () => {
    // 404: allowed to read (no such repository); 403: authenticated as someone without access.
    assert.equal(await status(ordered, certs.spiffe!), 404, 'spiffe://example.org/workload/builder -> builder');
    assert.equal(await status(ordered, certs.email!), 404, 'the first e-mail SAN');
    assert.equal(await status(ordered, certs.dns!), 404, 'the DNS SAN');
    assert.equal(await status(ordered, certs.cn!), 404, 'the CN when nothing else is there');
    // A URI outside the pattern gives no identity from URI; the next attribute present (its CN) names it.
    assert.equal(await status(ordered, certs.otherTrustDomain!), 403, 'other-cn may not read');
    assert.equal(await status(ordered, certs.email!, '/v2/apps/x/blobs/uploads/', 'POST'), 403, 'a reader may not push');
  });

  it('Subject: the whole DN as zot prints it (reverse order, RFC 2253 escapes)', async () => {
    assert.equal(await status(bySubject, certs.subject!), 404);
    assert.equal(await status(bySubject, certs.cn!), 403, 'CN=plain-cn is nobody here');
  });

  it('a SPIFFE workload pushes with skopeo and its client certificate', async () => {
    const certDir = await clientCertDir(clients, secrets.certs.ca.cert, certs.spiffe);
    const layout = await clients.makeDir('layout');
    const image = makeImage({ layers: 1, layerSize: 10_000 });
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await clients.skopeo('copy', '--dest-cert-dir', certDir, `oci:${layout}:v1`, `docker://${ordered.host}/apps/builder:v1`);
    assert.equal(await status(ordered, certs.spiffe!, '/v2/apps/builder/tags/list'), 200);
  });
});
