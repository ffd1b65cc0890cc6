import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import {
  buildOpenApiDocument,
  RegistryError,
  type OpenApiDocument,
  type OpenApiOptions,
  type RegistryResponse,
  type RouteDefinition,
} from '@zotjs/core';

/**
 * The OpenAPI document (`/openapi.json`, `/openapi.yaml`) and Swagger UI (`/swagger/`, and
 * `/swagger/v2/` where zot serves it). The UI is the `swagger-ui-dist` package served from this
 * process: no asset comes from another host (the Content-Security-Policy forbids it too).
 */

export interface DocsOptions extends OpenApiOptions {
  /** Every route the handler dispatches on, this module's own included (called once, lazily). */
  routes: () => readonly RouteDefinition[];
}

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The files of swagger-ui-dist the page loads: an allow-list, so no path ever reaches the disk unchecked. */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
  'oauth2-redirect.html': 'text/html; charset=utf-8',
  'oauth2-redirect.js': 'text/javascript; charset=utf-8',
};

// Swagger UI styles elements inline and shows SVG/data images; everything else is this origin only.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'self'";

/** The page's configuration: our document (relative, so a mount prefix keeps working), no external validator. */
function initializer(documentUrl: string): string {
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(documentUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout'
  });
};
`;
}

function bytesResponse(body: Buffer, contentType: string, extra: Record<string, string> = {}): RegistryResponse {
  return {
    status: 200,
    headers: { 'Content-Type': contentType, 'Content-Length': String(body.length), ...extra },
    body,
  };
}

export function docsRoutes(options: DocsOptions): RouteDefinition[] {
  let cached: { doc: OpenApiDocument; json: Buffer; yaml: Buffer } | undefined;
  const documents = (): NonNullable<typeof cached> => {
    if (!cached) {
      const { routes, ...openApi } = options;
      const doc = buildOpenApiDocument(routes(), openApi);
      cached = { doc, json: Buffer.from(JSON.stringify(doc, null, 2)), yaml: Buffer.from(yaml.dump(doc, { noRefs: true, lineWidth: -1 })) };
    }
    return cached;
  };

  const common = { method: 'GET', action: 'none', tag: 'documentation', public: true } as const;

  /** Serves `/swagger[/v2]/{file}`; `depth` is how many folders below the root the page is. */
  async function asset(file: string, depth: number): Promise<RegistryResponse> {
    const toRoot = '../'.repeat(depth);
    if (file === 'swagger-initializer.js') {
      return bytesResponse(Buffer.from(initializer(`${toRoot}openapi.json`)), 'text/javascript; charset=utf-8', {
        'Cache-Control': 'no-cache',
      });
    }
    // zot (swaggo) serves its document as /swagger/v2/doc.json.
    if (file === 'doc.json') return bytesResponse(documents().json, 'application/json');
    const contentType = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!contentType) throw new RegistryError('NAME_UNKNOWN', 'no such file', { status: 404 });
    const path = join(SWAGGER_DIR, file);
    const { size } = await stat(path);
    const headers: Record<string, string> = { 'Content-Type': contentType, 'Content-Length': String(size) };
    if (file.endsWith('.html')) {
      headers['Content-Security-Policy'] = CSP;
      headers['Cache-Control'] = 'no-cache';
    } else {
      headers['Cache-Control'] = 'public, max-age=86400';
    }
    headers['X-Content-Type-Options'] = 'nosniff';
    return { status: 200, headers, body: createReadStream(path) };
  }

  const redirect = (location: string): RegistryResponse => ({ status: 301, headers: { Location: location, 'Content-Length': '0' } });
  const assetResponses = { 200: 'the file', 404: 'no such file' };
  const html = { mediaTypes: ['text/html'], schema: { type: 'string' } };

  // `/swagger/v2...` first: `/swagger/{file}` would take `v2` for a file name.
  return [
    {
      ...common,
      template: '/openapi.json',
      operationId: 'getOpenApiJson',
      summary: 'This OpenAPI 3 document, as JSON',
      responses: { 200: 'the document' },
      responseBody: { mediaTypes: ['application/json'], schema: { type: 'object' } },
      async handle() {
        return bytesResponse(documents().json, 'application/json', { 'Cache-Control': 'no-cache' });
      },
    },
    {
      ...common,
      template: '/openapi.yaml',
      operationId: 'getOpenApiYaml',
      summary: 'This OpenAPI 3 document, as YAML',
      responses: { 200: 'the document' },
      responseBody: { mediaTypes: ['application/yaml'], schema: { type: 'string' } },
      async handle() {
        return bytesResponse(documents().yaml, 'application/yaml; charset=utf-8', { 'Cache-Control': 'no-cache' });
      },
    },
    {
      ...common,
      template: '/swagger/v2',
      operationId: 'redirectSwaggerV2',
      summary: 'Redirects to /swagger/v2/',
      responses: { 301: 'to /swagger/v2/' },
      async handle() {
        return redirect('v2/');
      },
    },
    {
      ...common,
      template: '/swagger/v2/',
      operationId: 'getSwaggerUiV2',
      summary: 'Swagger UI, where zot serves it',
      responses: { 200: 'the page' },
      responseBody: html,
      async handle() {
        return asset('index.html', 2);
      },
    },
    {
      ...common,
      template: '/swagger/v2/{file}',
      operationId: 'getSwaggerAssetV2',
      summary: 'Swagger UI files under /swagger/v2/ (and doc.json, the document, as zot names it)',
      responses: assetResponses,
      async handle({ params }) {
        return asset(params.file!, 2);
      },
    },
    {
      ...common,
      template: '/swagger',
      operationId: 'redirectSwagger',
      summary: 'Redirects to /swagger/',
      responses: { 301: 'to /swagger/' },
      async handle() {
        return redirect('swagger/');
      },
    },
    {
      ...common,
      template: '/swagger/',
      operationId: 'getSwaggerUi',
      summary: 'Swagger UI for this document (works offline)',
      responses: { 200: 'the page' },
      responseBody: html,
      async handle() {
        return asset('index.html', 1);
      },
    },
    {
      ...common,
      template: '/swagger/{file}',
      operationId: 'getSwaggerAsset',
      summary: 'Swagger UI files (scripts, styles, icons)',
      responses: assetResponses,
      async handle({ params }) {
        return asset(params.file!, 1);
      },
    },
  ];
}
