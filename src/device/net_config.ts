/**
 * Host network configuration (links, addresses, routes) as the layers above
 * need it. Implemented by rtnetlink in `ffi/netlink.ts`; tests use fakes.
 * Addresses are strings in their usual text form ("10.8.0.1", "fd00::1");
 * prefixes are "10.8.0.0/24". Every method rejects with an Error naming the
 * operation and the kernel's reason, and changes nothing on failure.
 */

export interface AddressSpec {
  dev: string;
  address: string;
  prefixLen: number;
  /** Point-to-point peer (IFA_ADDRESS); the local address is IFA_LOCAL. */
  peer?: string;
}

export interface RouteSpec {
  /** Destination prefix, e.g. "0.0.0.0/1" or "fd00:8::/64". */
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  /** Preferred source address. */
  src?: string;
}

export interface RouteInfo extends RouteSpec {
  family: 4 | 6;
  table: number;
  protocol: number;
}

export interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  up: boolean;
}

export interface NetConfig {
  linkByName(name: string): Promise<LinkInfo>;
  setLinkUp(name: string, up: boolean): Promise<void>;
  setMtu(name: string, mtu: number): Promise<void>;
  addAddress(spec: AddressSpec): Promise<void>;
  delAddress(spec: AddressSpec): Promise<void>;
  listAddresses(dev?: string): Promise<AddressSpec[]>;
  addRoute(spec: RouteSpec): Promise<void>;
  delRoute(spec: RouteSpec): Promise<void>;
  listRoutes(family: 4 | 6): Promise<RouteInfo[]>;
  /** The route the kernel would use to reach `address` (like `ip route get`). */
  routeGet(address: string): Promise<RouteInfo>;
  close(): void;
}
