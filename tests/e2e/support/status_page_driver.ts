/**
 * Runs inside the server's namespace (the status page listens on its
 * loopback): opens the page in headless Chromium and reports, as one JSON
 * line, what a person would see. The test (tests/e2e/observability_test.ts)
 * asserts on the report; this script only observes and clicks.
 *
 *   deno run -A status_page_driver.ts PAGE_URL EXPECTED_NAMES SCREENSHOT_PNG
 *
 * Steps: wait until every expected client name is a row; watch the traffic
 * graph until its newest second shows traffic (the test runs a ping flood);
 * take the screenshot; let a page on another origin (127.0.0.2, a different
 * site) auto-submit a kill form carrying the real CSRF token; then click Kill
 * (twice: arm, confirm) on the first name and wait for its row to go.
 */

import { until } from "../../../src/testing/wait.ts";
import { Chromium, type Page } from "./cdp.ts";

const [pageUrl, namesArg, screenshotPath] = Deno.args;
const names = namesArg.split(",");

const rowNames = (page: Page) =>
  page.eval<string[]>("[...document.querySelectorAll('#clients tr')].map((r) => r.dataset.name)");

interface GraphSample {
  lastIn: number;
  lastOut: number;
  end: number;
  points: number;
}

const graph = (page: Page) =>
  page.eval<GraphSample>(`(() => { const g = document.getElementById('graph');
    return { lastIn: Number(g.dataset.lastIn ?? 0), lastOut: Number(g.dataset.lastOut ?? 0),
      end: Number(g.dataset.end ?? 0),
      points: document.getElementById('line-in').getAttribute('points').split(' ').filter(Boolean).length }; })()`);

/** A page on another site posting a kill form with `token` to the status page; returns what the browser showed. */
async function crossSitePost(browser: Chromium, victim: string, token: string): Promise<string> {
  const form = `<form method="POST" action="${new URL("kill", pageUrl)}">` +
    `<input name="name" value="${victim}"><input name="csrf" value="${token}"></form>` +
    "<script>document.forms[0].submit()</script>";
  const attacker = Deno.serve(
    { hostname: "127.0.0.2", port: 0, onListen: () => {} },
    () => new Response(form, { headers: { "content-type": "text/html" } }),
  );
  try {
    const page = await browser.openPage(`http://127.0.0.2:${attacker.addr.port}/`);
    return await until(async () => {
      const text = await page.eval<string>("location.href.endsWith('/kill') ? document.body.innerText : ''");
      return text;
    }, { what: "the cross-site form's response", timeoutMs: 15_000 });
  } finally {
    await attacker.shutdown();
  }
}

const browser = await Chromium.launch();
try {
  const page = await browser.openPage(pageUrl);
  const before = await until(async () => {
    const rows = await rowNames(page);
    return names.every((n) => rows.includes(n)) && rows;
  }, { what: `rows for ${names.join(", ")}`, timeoutMs: 20_000 });
  const clientCells = await page.eval<string[][]>(
    "[...document.querySelectorAll('#clients tr')].map((r) => [...r.cells].map((c) => c.textContent))",
  );
  const routes = await page.eval<string[][]>(
    "[...document.querySelectorAll('#routes tr')].map((r) => [...r.cells].map((c) => c.textContent))",
  );
  const first = await graph(page);
  const moving = await until(async () => {
    const g = await graph(page);
    return g.lastIn > 10_000 && g.end > first.end && g.points >= 8 && g;
  }, { what: "the graph to show the flood", timeoutMs: 30_000, intervalMs: 200 });
  await Deno.writeFile(screenshotPath, await page.screenshot());
  const token = await page.eval<string>("document.querySelector('meta[name=csrf]').content");
  const crossSite = await crossSitePost(browser, names[1], token);
  const victim = names[0];
  const selector = `#clients button.kill[data-name="${victim}"]`;
  await page.eval(`document.querySelector('${selector}').click()`);
  await page.eval(`document.querySelector('${selector}').click()`);
  const after = await until(async () => {
    const rows = await rowNames(page);
    return !rows.includes(victim) && rows;
  }, { what: `${victim}'s row to go`, timeoutMs: 20_000 });
  const status = await page.eval<string>("document.getElementById('notice').textContent");
  console.log(JSON.stringify({ before, clientCells, routes, first, moving, crossSite, after, status }));
} finally {
  await browser.close();
}
