/**
 * A human-readable page for the OpenAPI document, rendered on the server with
 * no external scripts (hospital networks often have no internet access) and no
 * inline script or style, so its Content-Security-Policy can forbid both.
 */
type Json = Record<string, unknown>;

const esc = (value: unknown) =>
  String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function schemaText(schema: unknown, components: Json, depth = 0): string {
  if (!schema || typeof schema !== 'object' || depth > 4) return '';
  const s = schema as Json;
  if (typeof s['$ref'] === 'string') {
    const name = (s['$ref'] as string).split('/').pop() ?? '';
    return schemaText((components['schemas'] as Json | undefined)?.[name], components, depth);
  }
  if (s['type'] === 'object' && s['properties']) {
    const required = new Set((s['required'] as string[] | undefined) ?? []);
    const rows = Object.entries(s['properties'] as Json).map(
      ([key, value]) =>
        `<li><code>${esc(key)}</code>${required.has(key) ? ' <em>required</em>' : ''} ${esc((value as Json)['type'] ?? '')} ${esc((value as Json)['description'] ?? '')}${schemaText(value, components, depth + 1)}</li>`,
    );
    return `<ul>${rows.join('')}</ul>`;
  }
  if (s['type'] === 'array') return ` of ${schemaText(s['items'], components, depth + 1) || esc((s['items'] as Json | undefined)?.['type'])}`;
  if (Array.isArray(s['enum'])) return ` one of ${(s['enum'] as unknown[]).map((e) => `<code>${esc(e)}</code>`).join(', ')}`;
  return '';
}

/** Nothing but same-origin style sheets: no script at all, no framing, no forms. */
export const DOCS_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page's style, served at /docs.css. */
export const DOCS_CSS =
  'body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}section{border-top:1px solid #ccc;padding:.5rem 0}.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.9em}code{background:#f3f3f3;padding:0 .2rem}\n';

export function docsPage(doc: Json): string {
  const components = (doc['components'] as Json | undefined) ?? {};
  const sections: string[] = [];
  for (const [path, methods] of Object.entries((doc['paths'] as Json | undefined) ?? {})) {
    for (const [method, op] of Object.entries(methods as Json)) {
      const o = op as Json;
      const params = ((o['parameters'] as Json[] | undefined) ?? [])
        .map((p) => `<li><code>${esc(p['name'])}</code> (${esc(p['in'])}) ${esc((p['schema'] as Json | undefined)?.['type'] ?? '')}</li>`)
        .join('');
      const body = ((o['requestBody'] as Json | undefined)?.['content'] as Json | undefined)?.['application/json'] as Json | undefined;
      const responses = Object.entries((o['responses'] as Json | undefined) ?? {})
        .map(([status, r]) => `<li><b>${esc(status)}</b> ${esc((r as Json)['description'])}</li>`)
        .join('');
      sections.push(`<section><h3><span class="m">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(o['summary'])}</p>${o['description'] ? `<p>${esc(o['description'])}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${body ? `<h4>Body</h4>${schemaText(body['schema'], components)}` : ''}
<h4>Responses</h4><ul>${responses}</ul></section>`);
    }
  }
  const info = (doc['info'] as Json | undefined) ?? {};
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info['title'])}</title>
<link rel="stylesheet" href="/docs.css">
</head><body><h1>${esc(info['title'])} ${esc(info['version'])}</h1><p>${esc(info['description'])}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>${sections.join('\n')}</body></html>`;
}
