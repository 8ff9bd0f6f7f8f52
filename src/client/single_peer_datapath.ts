/**
 * The client's single-peer datapath over its device and switchable socket,
 * with its two packet loops and the once-a-second tick. It lives for the whole
 * run (persist-tun); control packets, timeouts and key events go to whichever
 * connection is live at the time.
 */

import { Datapath } from "../datapath/datapath.ts";
import { runInsideLoop, runOutsideLoop } from "../datapath/loops.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import type { Connection } from "./connection.ts";
import type { SwitchableSocket } from "./switchable_socket.ts";

export interface ClientDatapathOptions {
  device: PacketDevice;
  socket: SwitchableSocket;
  /** The datapath's clock; undefined: its default. */
  now?: () => number;
  log: Logger;
  /** The live connection attempt, if any. */
  connection: () => Connection | null;
  /** True once the client stops: a loop ending then is no failure. */
  isStopping: () => boolean;
}

export interface RunningDatapath {
  datapath: Datapath;
  /** The device and socket loops; they end when the device and socket close. */
  loops: Promise<void>[];
  /** Cleared at shutdown. */
  tick: ReturnType<typeof setInterval>;
}

/** Starts the datapath, its loops and its tick. */
export function startClientDatapath(o: ClientDatapathOptions): RunningDatapath {
  const { log, connection } = o;
  const datapath = new Datapath({
    mode: "single",
    device: o.device,
    now: o.now,
    socket: o.socket,
    log: log.child("datapath"),
    onControl: (buf, off, len, from, row) => connection()?.onControl(buf, off, len, from, row),
    onExit: () => connection()?.onExit(),
    onRekeyDue: () => connection()?.onRekeyDue(),
    onTimeout: () => {
      datapath.releasePeer(0);
      connection()?.onTimeout();
    },
  });
  const loopFailed = (where: string) => (e: unknown) => {
    if (!o.isStopping()) log.error(`${where} loop failed: ${(e as Error).message}`);
  };
  const loops = [
    runInsideLoop(datapath).catch(loopFailed("device")),
    runOutsideLoop(datapath).catch(loopFailed("socket")),
  ];
  const tick = setInterval(() => {
    datapath.tick();
    connection()?.checkDeadPeer();
  }, 1000);
  return { datapath, loops, tick };
}
