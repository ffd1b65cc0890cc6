// Blob uploads and downloads through curl: a streamed upload (`-T FILE`, no `Expect: 100-continue`)
// and a download to /dev/null, each timed by curl itself (%{time_total}, process start-up excluded).
// curl costs about a third of the CPU of a Node client per byte, which matters when client and
// server share two cores.
import { runCommand } from './processes.mjs';

/**
 * @param {{ method: 'GET'|'PUT', url: string, uploadFile?: string, headers?: Record<string,string>, caFile?: string }} spec
 * @returns {Promise<{ status: number, bytes: number, seconds: number }>}
 */
export async function curlTransfer({ method, url, uploadFile, headers = {}, caFile }) {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{size_upload} %{time_total}', '-X', method];
  if (uploadFile) args.push('-T', uploadFile, '-H', 'Expect:');
  if (caFile) args.push('--cacert', caFile);
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { code, stdout, stderr } = await runCommand('curl', args);
  const [status, down, up, total] = stdout.trim().split(' ').map(Number);
  if (code !== 0) throw new Error(`curl ${method} ${new URL(url).pathname} failed (exit ${code}): ${stderr.trim()}`);
  return { status, bytes: method === 'GET' ? down : up, seconds: total };
}
