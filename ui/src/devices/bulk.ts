/** Bulk actions over many devices: the ids of a whole filter, and a paced runner with progress. */
import { api } from '../api/client';

export interface BulkProgress {
  total: number;
  done: number;
  failed: number;
  /** The first few failures, "<device>: <message>". */
  errors: string[];
}

/** Every device id matching `query`, read a page at a time; at most `cap`. */
export async function idsMatching(query: Record<string, unknown>, cap = 100_000, page = 1000): Promise<string[]> {
  const ids: string[] = [];
  for (let skip = 0; ids.length < cap; skip += page) {
    const chunk = await api.get<Array<{ _id: string }>>('/devices/', {
      query, projection: '_id', skip, limit: Math.min(page, cap - ids.length),
    });
    ids.push(...chunk.map((d) => d._id));
    if (chunk.length < page) break;
  }
  return ids;
}

/**
 * Runs `action` for each id, `concurrency` at a time (the NBI and the CPEs are not flooded),
 * reporting progress after each; failures are counted, not thrown. `signal` stops it early.
 */
export async function runBulk(
  ids: string[],
  action: (id: string) => Promise<unknown>,
  onProgress: (p: BulkProgress) => void,
  concurrency = 4,
  signal?: AbortSignal,
): Promise<BulkProgress> {
  const p: BulkProgress = { total: ids.length, done: 0, failed: 0, errors: [] };
  onProgress({ ...p });
  let next = 0;
  async function worker() {
    while (next < ids.length && !signal?.aborted) {
      const id = ids[next++];
      try {
        await action(id);
      } catch (e) {
        p.failed++;
        if (p.errors.length < 5) p.errors.push(`${id}: ${e instanceof Error ? e.message : String(e)}`);
      }
      p.done++;
      onProgress({ ...p, errors: [...p.errors] });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return p;
}

/** Query string of a task sent with a connection request, not waited for (the list shows progress). */
export const CONNECT_NOW = { connection_request: '', timeout: 0 } as const;
