/**
 * The typed NBI client every page uses: the console serves the NBI under /api of its own origin,
 * so calls need no CORS and carry the signed-in token as `Authorization: Bearer`.
 */

export const API_BASE = '/api';

/** A refused or failed NBI call: the HTTP status and the NBI's `{error, detail}` body. */
export class ApiError extends Error {
  readonly status: number;
  readonly error: string;
  readonly detail: unknown;

  constructor(status: number, error: string, detail: unknown = null) {
    super(ApiError.describe(status, error, detail));
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.detail = detail;
  }

  /** One line for a toast or a form: "409 conflict: task already running". */
  static describe(status: number, error: string, detail: unknown): string {
    if (detail === null || detail === undefined || detail === '') return `${status} ${error}`;
    if (typeof detail === 'string') return `${status} ${error}: ${detail}`;
    if (Array.isArray(detail)) {
      const msgs = detail.map((d) => (d && typeof d === 'object' && 'msg' in d ? String((d as { msg: unknown }).msg) : JSON.stringify(d)));
      return `${status} ${error}: ${msgs.join('; ')}`;
    }
    return `${status} ${error}: ${JSON.stringify(detail)}`;
  }
}

/** Query values: objects (query, projection, sort) are sent as JSON, as the NBI expects. */
export type QueryValue = string | number | boolean | object | null | undefined;
export type Query = Record<string, QueryValue>;

/** A list and, when the NBI sends `X-Total-Count`, the number of matches over all pages. */
export interface ListResult<T> {
  items: T[];
  total: number | undefined;
}

let token: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** The token sent with every call (set by the sign-in, cleared by the sign-out). */
export function setToken(value: string | null): void {
  token = value;
}

export function getToken(): string | null {
  return token;
}

/** Called on a 401 (token revoked or mistyped) so the app can return to the sign-in. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export function buildUrl(path: string, query?: Query): string {
  const url = API_BASE + (path.startsWith('/') ? path : `/${path}`);
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

function headers(extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function errorOf(res: Response): Promise<ApiError> {
  let error = res.statusText || 'request failed';
  let detail: unknown = null;
  try {
    const body = (await res.json()) as { error?: unknown; detail?: unknown };
    if (body && typeof body === 'object') {
      if (typeof body.error === 'string') error = body.error;
      detail = body.detail ?? null;
    }
  } catch {
    // not JSON (a proxy's page): keep the status text
  }
  if (res.status === 401 && onUnauthorized) onUnauthorized();
  return new ApiError(res.status, error, detail);
}

async function parse<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? JSON.parse(text) : text) as T;
}

async function send(method: string, path: string, body?: unknown, query?: Query, extra?: Record<string, string>): Promise<Response> {
  const init: RequestInit = { method, headers: headers(extra) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, query), init);
  } catch (e) {
    throw new ApiError(0, 'network error', e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export const api = {
  /** GET a JSON document. */
  async get<T>(path: string, query?: Query): Promise<T> {
    return parse<T>(await send('GET', path, undefined, query));
  },

  /** GET a JSON array, with the total from `X-Total-Count` when the NBI sends it. */
  async list<T>(path: string, query?: Query): Promise<ListResult<T>> {
    const res = await send('GET', path, undefined, query);
    const raw = res.headers.get('x-total-count');
    const items = (await parse<T[]>(res)) ?? [];
    return { items, total: raw === null ? undefined : Number(raw) };
  },

  async post<T = unknown>(path: string, body?: unknown, query?: Query): Promise<T> {
    return parse<T>(await send('POST', path, body, query));
  },

  async put<T = unknown>(path: string, body?: unknown, query?: Query, extraHeaders?: Record<string, string>): Promise<T> {
    return parse<T>(await send('PUT', path, body, query, extraHeaders));
  },

  async del<T = unknown>(path: string, query?: Query): Promise<T> {
    return parse<T>(await send('DELETE', path, undefined, query));
  },

  /**
   * PUT a file's bytes (e.g. `/files/<name>`), reporting progress as a fraction 0..1.
   * `extraHeaders` carries the NBI's file metadata (fileType, oui, productClass, version).
   * XMLHttpRequest because fetch reports no upload progress.
   */
  upload(path: string, file: Blob, onProgress?: (fraction: number) => void, extraHeaders?: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', buildUrl(path));
      for (const [k, v] of Object.entries(headers({ 'Content-Type': 'application/octet-stream', ...extraHeaders }))) {
        xhr.setRequestHeader(k, v);
      }
      xhr.upload.onprogress = (ev) => {
        if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress?.(1);
          resolve();
          return;
        }
        let error = xhr.statusText || 'upload failed';
        let detail: unknown = null;
        try {
          const body = JSON.parse(xhr.responseText) as { error?: string; detail?: unknown };
          error = body.error ?? error;
          detail = body.detail ?? null;
        } catch {
          // not JSON
        }
        if (xhr.status === 401 && onUnauthorized) onUnauthorized();
        reject(new ApiError(xhr.status, error, detail));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network error', 'upload interrupted'));
      xhr.send(file);
    });
  },
};

export type Api = typeof api;
