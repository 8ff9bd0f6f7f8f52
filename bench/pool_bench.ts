/**
 * A new client's address from a /16 pool (65,534 slots) with 10,000 leases
 * held, then its release: what the server pays per handshake in the pool
 * (docs/performance.md, "Swarm"). Run: deno bench bench/pool_bench.ts
 */

import { AddressPool } from "../src/pool/address_pool.ts";
import { planLayout } from "../src/pool/topology.ts";

let now = 0;
const pool = new AddressPool(planLayout({ network4: "10.80.0.0/16" }), { clock: () => ++now });
for (let i = 0; i < 10_000; i++) {
  if (!pool.allocate(`held-${i}`).ok) throw new Error("the pool refused a lease");
}
let n = 0;

Deno.bench("pool: allocate + release on a /16 with 10,000 leases held", () => {
  const result = pool.allocate(`new-${n++ % 1000}`);
  if (!result.ok) throw new Error(result.message);
  pool.release(result.lease);
});
