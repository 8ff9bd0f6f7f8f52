/**
 * Runs inside a namespace (its loopback is out of the test process' reach):
 * one HTTP GET, printed as a JSON line { status, body }.
 *
 *   deno run -A http_get.ts URL
 */

const res = await fetch(Deno.args[0]);
console.log(JSON.stringify({ status: res.status, body: await res.text() }));
