/**
 * The one place that loads libc. Everything in `ffi/` calls C through
 * `libc()`, which runs `Deno.dlopen` on first use (never at import), so
 * `deno check` and tests that do not touch the OS need no `--allow-ffi`.
 *
 * Width conventions, chosen so hot calls stay on Deno's fast-call path and
 * allocate nothing (64-bit FFI types are BigInt in both directions, and a
 * BigInt result is a heap object per call):
 * - `ssize_t` results of read/write/recv/sendto are declared `i32`: the
 *   low 32 bits of a byte count below 2 GiB, and -1 stays -1.
 * - `size_t` counts on hot calls are declared `u32`. The x86-64 and arm64
 *   ABIs leave the upper half of a 32-bit argument register unspecified,
 *   but every instruction that writes a 32-bit register on those machines
 *   zeroes the upper half, and V8 hands fast calls such values; counts
 *   here are packet or buffer sizes far below 2^32.
 * - Cold calls whose C type is `unsigned long` (ioctl request, nfds_t) take
 *   BigInt constants.
 *
 * Errors: C failures become `OsError` ("<call>: <strerror text>") carrying
 * the numeric errno; see `osError`.
 */

const SYMBOLS = {
  // int open(const char *pathname, int flags, mode_t mode);
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // int madvise(void *addr, size_t length, int advice);
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, void *argp);
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // The same poll(2), run on Deno's blocking thread pool; resolves a Promise.
  // errno of that thread is not observable, so callers treat -1 as "retry".
  pollAsync: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // int fcntl(int fd, int cmd, int arg);
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int eventfd(unsigned int initval, int flags);
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int socketpair(int domain, int type, int protocol, int sv[2]);
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
  //                const struct sockaddr *dest_addr, socklen_t addrlen);
  sendto: { parameters: ["i32", "buffer", "u32", "i32", "buffer", "u32"], result: "i32" },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // ssize_t recvfrom(int sockfd, void *buf, size_t len, int flags,
  //                  struct sockaddr *src_addr, socklen_t *addrlen);
  recvfrom: { parameters: ["i32", "buffer", "u32", "i32", "buffer", "buffer"], result: "i32" },
  // int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags,
  //              struct timespec *timeout);
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  // int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int malloc_trim(size_t pad);  (glibc only: optional, null elsewhere)
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
  // struct mallinfo2 mallinfo2(void);  (glibc >= 2.33: optional; ten size_t fields)
  mallinfo2: {
    parameters: [],
    result: {
      struct: ["usize", "usize", "usize", "usize", "usize", "usize", "usize", "usize", "usize", "usize"],
    },
    optional: true,
  },
  // char *strerror(int errnum);
  strerror: { parameters: ["i32"], result: "pointer" },
  // int *__errno_location(void);  (glibc and musl)
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let loaded: LibcSymbols | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/** libc's symbols; loads the library on first call. Needs --allow-ffi. */
export function libc(): LibcSymbols {
  if (loaded) return loaded;
  if (Deno.build.os !== "linux") {
    throw new Error(`libc: tsvpn's OS layer supports Linux only (this is ${Deno.build.os})`);
  }
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch (e) {
    throw new Error(`libc: cannot load libc.so.6 (${(e as Error).message})`, { cause: e });
  }
  loaded = lib.symbols;
  return loaded;
}

/** The calling thread's errno; read it right after the failing call. */
export function errno(): number {
  if (!errnoView) {
    const ptr = libc().__errno_location();
    if (ptr === null) throw new Error("libc: __errno_location returned NULL");
    errnoView = new Deno.UnsafePointerView(ptr);
  }
  return errnoView.getInt32();
}

/** strerror(3) text for an errno value, e.g. "Operation not permitted". */
export function strerror(code: number): string {
  const ptr = libc().strerror(code);
  return ptr === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(ptr);
}

/** An OS call that failed: `message` is "<what>: <strerror text>[ (hint)]". */
export class OsError extends Error {
  /** The errno value (positive), e.g. `EPERM`. */
  readonly errno: number;
  constructor(what: string, code: number, hint?: string) {
    super(`${what}: ${strerror(code)}${hint ? ` (${hint})` : ""}`);
    this.name = "OsError";
    this.errno = code;
  }
}

/** Hint appended to permission errors from privileged network calls. */
export const PRIVILEGE_HINT = "run as root or grant CAP_NET_ADMIN";

/**
 * An OsError for the errno just set by a failed call. Permission errors get
 * `PRIVILEGE_HINT` unless another hint is given.
 */
export function osError(what: string, code: number = errno(), hint?: string): OsError {
  if (hint === undefined && (code === EPERM || code === EACCES)) hint = PRIVILEGE_HINT;
  return new OsError(what, code, hint);
}

/** NUL-terminated UTF-8 copy of `s`, for `const char *` parameters. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Text of a fixed-size, NUL-padded C char array. */
export function fromCString(buf: Uint8Array, off: number, max: number): string {
  let end = off;
  while (end < off + max && buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(off, end));
}

// errno values (Linux, asm-generic).
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EBADFD = 77;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETUNREACH = 101;
export const ENOBUFS = 105;

/**
 * Errno values a read or receive on a socket or tun fd can report (read(2),
 * recvmmsg(2), socket(7) asynchronous errors); unnamed ones: EFAULT 14,
 * EPIPE 32, ENOTSOCK 88, EMSGSIZE 90, ENETDOWN 100, ENETRESET 102,
 * ECONNABORTED 103, ECONNRESET 104, ENOTCONN 107, ETIMEDOUT 110,
 * ECONNREFUSED 111, EHOSTDOWN 112, EHOSTUNREACH 113.
 */
const IO_ERRNOS = new Set([
  EPERM,
  EINTR,
  EIO,
  ENXIO,
  EBADF,
  EAGAIN,
  ENOMEM,
  EACCES,
  EINVAL,
  EBADFD,
  ENETUNREACH,
  ENOBUFS,
  ...[14, 32, 88, 90, 100, 102, 103, 104, 107, 110, 111, 112, 113],
]);
/** How often a read is retried when errno holds a value the call cannot report (see ioErrnoPlausible). */
export const STRAY_ERRNO_RETRIES = 3;

/**
 * True when `e` is an errno a read or receive on a socket or tun fd can
 * report. Anything else (ENOENT after recvmmsg, seen once in a test) was
 * written by runtime code that ran between the call and `errno()`: Deno's
 * FFI does not capture errno together with the call. The fd's state is
 * unchanged by a failed read, so the caller retries such a read rather than
 * ending the datapath on a value that is not the kernel's.
 */
export function ioErrnoPlausible(e: number): boolean {
  return IO_ERRNOS.has(e);
}

// open(2) flags.
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

// fcntl(2) commands.
export const F_GETFL = 3;
export const F_SETFL = 4;

// poll(2) events.
export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

// eventfd(2) flags.
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

// socket(2).
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const SOCK_NONBLOCK = 0o4000;
export const SO_REUSEPORT = 15;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
