/**
 * The configuration reference in Markdown, made from the JSON Schema: one row per key with its
 * type, default and meaning. packages/config/README.md embeds it (a test keeps it current).
 */
import { DURATION_PATTERN } from './duration.js';
import { configJsonSchema, type JsonSchema } from './json-schema.js';

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** A Markdown table of every key of the config file. */
export function renderConfigReference(schema: JsonSchema = configJsonSchema()): string {
  const rows: Row[] = [];
  collect(schema, '', rows);
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${cell(r.type)} | ${r.default === '' ? '' : `\`${cell(r.default)}\``} | ${cell(r.description)} |`),
    '',
  ].join('\n');
}

const asSchema = (value: unknown): JsonSchema | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : undefined;

function collect(node: JsonSchema, path: string, rows: Row[]): void {
  const properties = asSchema(node.properties);
  if (properties) {
    const requiredHere = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
    for (const [key, value] of Object.entries(properties)) {
      const child = asSchema(value);
      if (child) describe(child, path ? `${path}.${key}` : key, rows, requiredHere.has(key));
    }
  }
  const entries = asSchema(node.additionalProperties);
  if (entries) describe(entries, `${path}.<name>`, rows, false);
}

function describe(node: JsonSchema, key: string, rows: Row[], required: boolean): void {
  const description = typeof node.description === 'string' ? node.description : '';
  rows.push({
    key,
    type: typeName(node) + (node.writeOnly === true ? ', secret' : '') + (required ? ', required' : ''),
    default: node.default === undefined ? '' : JSON.stringify(node.default),
    description,
  });
  collect(node, key, rows);
  const items = asSchema(node.items);
  if (items && (items.properties || items.additionalProperties)) collect(items, `${key}[]`, rows);
}

function typeName(node: JsonSchema): string {
  if (Array.isArray(node.enum)) return `one of ${node.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (Array.isArray(node.anyOf)) return [...new Set(node.anyOf.map((option) => typeName(asSchema(option) ?? {})))].join(' or ');
  const type = node.type;
  if (Array.isArray(type)) return type.join(' or ');
  if (type === 'array') {
    const items = asSchema(node.items);
    return `list of ${items ? plural(typeName(items)) : 'values'}`;
  }
  if (type === 'object') return node.properties ? 'object' : 'map';
  if (type === 'integer' || type === 'number') return `${type}${range(node)}`;
  if (type === 'string' && node.pattern === DURATION_PATTERN.source) return 'duration (`1h30m`, `90s`)';
  return typeof type === 'string' ? type : 'any';
}

function plural(name: string): string {
  if (name.startsWith('one of ')) return name.slice('one of '.length);
  return name.replace(/^(\w+)/, '$1s');
}

/** ` (≥ 1)`, ` (0–64)`, ` (> 0)`; bounds at the largest safe integer say nothing and are left out. */
function range(node: JsonSchema): string {
  const bound = (value: unknown): number | undefined =>
    typeof value === 'number' && Math.abs(value) < Number.MAX_SAFE_INTEGER ? value : undefined;
  const min = bound(node.minimum);
  const above = bound(node.exclusiveMinimum);
  const max = bound(node.maximum);
  if (min !== undefined && max !== undefined) return ` (${min}–${max})`;
  if (min !== undefined) return ` (≥ ${min})`;
  if (above !== undefined) return ` (> ${above})`;
  if (max !== undefined) return ` (≤ ${max})`;
  return '';
}
