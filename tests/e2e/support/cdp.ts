/**
 * Headless Chromium (Debian's `chromium`) driven through the Chrome DevTools
 * Protocol over its websocket: launch with a throwaway profile, open a page,
 * evaluate expressions in it, capture a screenshot. Only what the status page
 * test needs. Runs as root, hence --no-sandbox; every network feature that
 * would reach outside the namespace is off.
 */

import { settledWithin, until, within } from "../../../src/testing/wait.ts";

export const CHROMIUM = "/usr/bin/chromium";

export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class Chromium {
  readonly #child: Deno.ChildProcess;
  readonly #ws: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(child: Deno.ChildProcess, ws: WebSocket, profile: string) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    ws.onmessage = (e) => this.#onMessage(String(e.data));
  }

  static async launch(): Promise<Chromium> {
    const profile = await Deno.makeTempDir({ prefix: "tsvpn-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
        `--user-data-dir=${profile}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const url = await within(devtoolsUrl(child.stderr), 30_000, "chromium's DevTools URL");
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error(`cannot open ${url}`));
      });
      return new Chromium(child, ws, profile);
    } catch (e) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** One CDP command; `sessionId` addresses a page attached with openPage(). */
  send<T = Record<string, unknown>>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    const id = this.#nextId++;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => resolve(v as T), reject });
    });
  }

  /** Opens `url` in a new tab; resolves with the page once its load event fired. */
  async openPage(url: string): Promise<Page> {
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this, sessionId);
    await this.send("Runtime.enable", {}, sessionId);
    await page.navigate(url);
    return page;
  }

  /** Asks the browser to quit (its helper processes with it), kills it after 5 s, removes the profile. */
  async close(): Promise<void> {
    const exited = this.#child.status.then(() => true);
    await settledWithin(this.send("Browser.close"), 2000, null).catch(() => null);
    if (!await settledWithin(exited, 5000, false)) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    }
    try {
      this.#ws.close();
    } catch {
      // Closed already.
    }
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(new Error(`CDP: ${msg.error.message}`));
    else pending.resolve(msg.result);
  }
}

export class Page {
  readonly #browser: Chromium;
  readonly #session: string;

  constructor(browser: Chromium, session: string) {
    this.#browser = browser;
    this.#session = session;
  }

  /** Navigates and waits until the document has loaded. */
  async navigate(url: string): Promise<void> {
    await this.#browser.send("Page.navigate", { url }, this.#session);
    await until(async () => (await this.eval<string>("document.readyState")) === "complete", {
      what: `${url} to load`,
      timeoutMs: 20_000,
      intervalMs: 50,
    });
  }

  /** The value of `expression` in the page (awaited when it is a promise; JSON-serializable). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.#browser.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>(
      "Runtime.evaluate",
      { expression, returnByValue: true, awaitPromise: true },
      this.#session,
    );
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.text} (${expression})`);
    return r.result.value as T;
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.#browser.send<{ data: string }>(
      "Page.captureScreenshot",
      { format: "png" },
      this.#session,
    );
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }
}

/** Reads Chromium's stderr until it names its DevTools websocket (keeps draining it afterwards). */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {});
      return m[1];
    }
  }
  throw new Error(`chromium did not print its DevTools URL:\n${seen.slice(-2000)}`);
}
