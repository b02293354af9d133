// The service's /v1 API over fetch, with the bearer token. Errors come back as ApiError with
// the service's one-line {"error": "..."} message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  headers(json) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (json) headers["Content-Type"] = "application/json";
    return headers;
  }

  async fetch(method, path, body, signal) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "cannot reach the MatteTrack service (is mattetrack serve running?)");
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /** JSON answer of a request. */
  async call(method, path, body) {
    const response = await this.fetch(method, path, body);
    return response.json();
  }

  /** A preview PNG: { blob, problem, stale } where problem is why an object is left out of it
   *  (prompts that select nothing) or null, and stale the ids of the objects shown out of date
   *  (striped), comma-separated, or "". */
  async preview(path, signal) {
    const response = await this.fetch("GET", path, undefined, signal);
    const problem = response.headers.get("X-MatteTrack-Problem");
    return { blob: await response.blob(), problem: problem ? decodeURIComponent(problem) : null,
      stale: response.headers.get("X-MatteTrack-Stale") ?? "" };
  }

  /** Parsed lines of an NDJSON stream, as they arrive (the page stays responsive). */
  async *lines(path, signal) {
    const response = await this.fetch("GET", path, undefined, signal);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) if (line.trim()) yield JSON.parse(line);
    }
    if (pending.trim()) yield JSON.parse(pending);
  }

  /** Fire-and-forget request that survives the page closing (fetch keepalive). */
  beacon(method, path) {
    fetch(path, { method, headers: this.headers(false), keepalive: true }).catch(() => {});
  }
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const payload = await response.json();
    if (payload && payload.error) message = payload.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}
