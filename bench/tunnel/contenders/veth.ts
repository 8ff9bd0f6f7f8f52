/** The baseline: no tunnel, traffic straight over the veth pair. */

import { type Contender, SERVER_UNDERLAY } from "../contender.ts";

export const vethContender: Contender = {
  name: "veth",
  kind: "baseline",
  description: "plain veth pair, no tunnel (the ceiling)",
  programs: [],
  setup() {
    return Promise.resolve({
      serverAddress: SERVER_UNDERLAY,
      processes: [],
      notes: {},
      stop: () => Promise.resolve(),
    });
  },
};
