import assert from "node:assert/strict";
import { Emitter } from "../control/emitter.ts";
import { ClientStateHistory } from "./client_state_history.ts";
import type { ClientEvents, ClientState, ClientStatus } from "./client_types.ts";
import type { HostPlan } from "./host_plan_types.ts";

class FakeClient extends Emitter<ClientEvents> {
  status: ClientStatus = { state: "starting", remote: null, plan: null, connects: 0, lastError: null };
  set(state: ClientState, change: Partial<ClientStatus> = {}): void {
    Object.assign(this.status, change, { state });
    this.emit("state", state);
  }
}

Deno.test("ClientStateHistory writes OpenVPN's state lines: CONNECTED with the tunnel address and remote", () => {
  const client = new FakeClient();
  let now = 1796478342_000;
  const history = new ClientStateHistory(client, () => now);
  client.set("connecting", { remote: "172.31.0.1:1194" });
  now += 2000;
  const plan = { local4: { address: "10.8.0.2", prefixLen: 24, peer: null, netmask: "255.255.255.0" } };
  client.set("connected", { plan: plan as unknown as HostPlan });
  assert.equal(history.current(), "1796478344,CONNECTED,SUCCESS,10.8.0.2,172.31.0.1,1194,,");
  client.set("waiting", { lastError: "no packet from the server for 60 s (ping-restart), then more" });
  assert.deepEqual(history.last(2), [
    "1796478344,CONNECTED,SUCCESS,10.8.0.2,172.31.0.1,1194,,",
    "1796478344,RECONNECTING,no packet from the server for 60 s (ping-restart); then more,,,,,",
  ]);
  assert.deepEqual(history.last().map((l) => l.split(",")[1]), ["CONNECTING", "CONNECTED", "RECONNECTING"]);
});

Deno.test("ClientStateHistory keeps the last 256 lines", () => {
  const client = new FakeClient();
  const history = new ClientStateHistory(client, () => 0);
  for (let i = 0; i < 300; i++) client.set(i % 2 === 0 ? "connecting" : "waiting");
  assert.equal(history.last().length, 256);
});
