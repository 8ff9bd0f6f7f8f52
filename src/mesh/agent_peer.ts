/**
 * One introduced peer as the client's MeshAgent keeps it: the pair's channel
 * (keys, packet-ids, replay windows), its path machine, the key epochs its
 * current key was made from, the candidates the server gave, and what was
 * last reported to the server.
 */

import type { CipherName } from "../data/aead.ts";
import type { AeadBackendChoice } from "../data/aead_select.ts";
import type { Endpoint } from "./endpoint.ts";
import type { MeshIntro } from "./messages.ts";
import { PairChannel } from "./pair_channel.ts";
import { type PathHooks, PathMachine, type PathTimings } from "./path.ts";

export interface AgentPeerOptions {
  backend?: AeadBackendChoice;
  timings: PathTimings;
  random: (n: number) => Uint8Array;
  hooks: PathHooks;
}

export class AgentPeer {
  readonly pairId: number;
  readonly name: string;
  readonly cipher: CipherName;
  readonly channel: PairChannel;
  readonly path: PathMachine;
  ownEpoch: number;
  peerEpoch: number;
  /** The server-observed public endpoint first, then the peer's reported local endpoints. */
  candidates: Endpoint[];
  /** The STATE text last sent to the server, null before the first. */
  lastReport: string | null = null;
  nextReportAt = 0;
  /** Liveness check of a direct path: the table's sent/heard counts at the last check, and the next one. */
  sentAtCheck = 0;
  heardAtCheck = 0;
  nextLivenessAt = Infinity;

  constructor(intro: MeshIntro, options: AgentPeerOptions) {
    this.pairId = intro.pairId;
    this.name = intro.peerName;
    this.cipher = intro.cipher;
    this.ownEpoch = intro.epoch;
    this.peerEpoch = intro.peerEpoch;
    this.candidates = candidatesOf(intro);
    this.channel = new PairChannel(intro.pairId, { backend: options.backend });
    const random = options.random;
    this.path = new PathMachine({
      timings: options.timings,
      hooks: options.hooks,
      randomId: () => {
        const b = random(4);
        return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      },
    });
  }

  /** Takes a re-introduction's epochs and candidates. */
  update(intro: MeshIntro): void {
    this.ownEpoch = intro.epoch;
    this.peerEpoch = intro.peerEpoch;
    this.candidates = candidatesOf(intro);
  }
}

function candidatesOf(intro: MeshIntro): Endpoint[] {
  return [intro.publicEndpoint, ...intro.localEndpoints];
}
