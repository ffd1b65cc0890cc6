import { digestOf } from '../../digest.js';
import { RegistryError } from '../../errors.js';
import { MediaTypes } from '../../media-types.js';
import { BodyTooLargeError, readAll } from '../../util/streams.js';
import type { Registry } from '../../registry.js';
import type { RouteContext, RouteDefinition } from '../route.js';
import { actorOf, manifestHeaders } from './responses.js';

const manifestGet = (method: 'GET' | 'HEAD'): RouteDefinition => ({
  method,
  template: '/v2/{name}/manifests/{reference}',
  operationId: method === 'GET' ? 'getManifest' : 'headManifest',
  summary: method === 'GET' ? 'Fetch a manifest by tag or digest' : 'Check that a manifest exists',
  specId: 'end-3',
  action: 'read',
  responses: { 200: 'the manifest', 400: 'invalid name or reference', 404: 'manifest or repository unknown' },
  requestHeaders: { Accept: 'manifest media types the client understands' },
  async handle({ request, registry, params, outcome }) {
    if (method === 'HEAD') {
      const stat = await registry.statManifest(params.name!, params.reference!);
      return { status: 200, headers: manifestHeaders(stat) };
    }
    const manifest = await registry.getManifest(params.name!, params.reference!, actorOf(request, outcome));
    return { status: 200, headers: manifestHeaders(manifest), body: manifest.bytes };
  },
});

const putManifest: RouteDefinition = {
  method: 'PUT',
  template: '/v2/{name}/manifests/{reference}',
  operationId: 'putManifest',
  summary: 'Push a manifest under a tag or its digest',
  specId: 'end-7',
  action: 'create',
  async resolveAction({ registry, params, mayAccess }) {
    // zot's rule: overwriting an existing tag is an update, except `latest`, which moves all the
    // time; digests are immutable, so pushing one only ever creates. zot-ts: pushing again exactly
    // the manifest the tag already names changes nothing, so `create` is enough for it (a retried
    // push must not fail); the handler demands `update` once the body shows the tag would move.
    if (!(await existingTag(registry, params))) return 'create';
    return (await mayAccess(params.name!, 'update')) ? 'update' : 'create';
  },
  responses: {
    201: 'stored',
    400: 'invalid manifest, name, tag or digest',
    404: 'repository unknown',
    413: 'manifest too large',
  },
  requestHeaders: { 'Content-Type': 'the manifest media type' },
  requestBody: { mediaType: MediaTypes.ociManifest, description: 'the manifest, stored byte-for-byte' },
  async handle({ request, registry, params, outcome, demand }) {
    const name = params.name!;
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > registry.maxManifestBytes) {
      request.body?.resume();
      throw new RegistryError('SIZE_INVALID', `manifest exceeds the ${registry.maxManifestBytes}-byte limit`, { status: 413 });
    }
    let bytes: Buffer;
    try {
      bytes = request.body ? await readAll(request.body, registry.maxManifestBytes) : Buffer.alloc(0);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        throw new RegistryError('SIZE_INVALID', `manifest exceeds the ${registry.maxManifestBytes}-byte limit`, { status: 413 });
      }
      throw err;
    }
    if (outcome.action === 'create') {
      const current = await existingTag(registry, params);
      if (current && current.digest !== digestOf(current.digest.startsWith('sha512:') ? 'sha512' : 'sha256', bytes).value)
        await demand('update');
    }
    const result = await registry.putManifest(name, params.reference!, bytes, request.headers['content-type'], actorOf(request, outcome));
    outcome.digest = result.digest;
    const headers: Record<string, string> = {
      Location: `/v2/${name}/manifests/${result.digest}`,
      'Docker-Content-Digest': result.digest,
      'Content-Length': '0',
    };
    if (result.subject) headers['OCI-Subject'] = result.subject;
    return { status: 201, headers };
  },
};

/** The manifest a tag (other than `latest`) names now; undefined for digests, `latest` and new tags. */
async function existingTag(registry: Registry, params: RouteContext['params']): Promise<{ digest: string } | undefined> {
  const reference = params.reference!;
  if (reference.includes(':') || reference === 'latest') return undefined;
  try {
    return await registry.statManifest(params.name!, reference);
  } catch (err) {
    if (err instanceof RegistryError) return undefined; // no such tag or repository (yet)
    throw err;
  }
}

const deleteManifest: RouteDefinition = {
  method: 'DELETE',
  template: '/v2/{name}/manifests/{reference}',
  operationId: 'deleteManifest',
  summary: 'Delete a tag, or a manifest by digest',
  specId: 'end-9',
  action: 'delete',
  responses: { 202: 'deleted', 400: 'invalid reference', 404: 'manifest unknown', 405: 'deletion disabled' },
  async handle({ request, registry, params, outcome }) {
    await registry.deleteManifest(params.name!, params.reference!, actorOf(request, outcome));
    return { status: 202, headers: { 'Content-Length': '0' } };
  },
};

/** Manifests by tag or digest: pull, check, push, delete (spec end-3, end-7, end-9). */
export const manifestRoutes: readonly RouteDefinition[] = [manifestGet('GET'), manifestGet('HEAD'), putManifest, deleteManifest];
