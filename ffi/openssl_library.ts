/**
 * How tsvpn loads an OpenSSL 3 library (`libcrypto.ts`, `libssl.ts`): `Deno.dlopen` on first use, never at
 * import; the library's own version must be 3.x (the ABI these symbol tables describe); a failure is kept
 * and given again, so a missing library costs one attempt; `status()` answers "can it be used here?" without
 * throwing and without a permission prompt.
 */

/** What every OpenSSL symbol table includes: `unsigned long OpenSSL_version_num(void)`. */
type WithVersion = {
  readonly OpenSSL_version_num: { readonly parameters: readonly []; readonly result: "u64" };
};

export interface OpensslLibrary<S extends Deno.ForeignLibraryInterface & WithVersion> {
  /** The library's symbols; loads it on first call. Needs --allow-ffi. */
  symbols(): Deno.DynamicLibrary<S>["symbols"];
  /** Null when the library can be used in this process, else the reason. Never throws. */
  status(): string | null;
}

/** `name` is the log prefix ("libcrypto"), `soname` the file ("libcrypto.so.3"). */
export function opensslLibrary<S extends Deno.ForeignLibraryInterface & WithVersion>(
  name: string,
  soname: string,
  table: S,
): OpensslLibrary<S> {
  let loaded: Deno.DynamicLibrary<S>["symbols"] | undefined;
  let failure: Error | undefined;
  const symbols = () => {
    if (loaded) return loaded;
    if (failure) throw failure;
    let lib: Deno.DynamicLibrary<S>;
    try {
      lib = Deno.dlopen(soname, table);
    } catch (e) {
      failure = new Error(
        `${name}: cannot load ${soname} (${(e as Error).message}); install OpenSSL 3 (Debian: libssl3)`,
        { cause: e },
      );
      throw failure;
    }
    const version = Number((lib.symbols.OpenSSL_version_num as () => number | bigint)());
    if (version < 0x30000000) {
      lib.close();
      failure = new Error(`${name}: ${soname} reports version ${version.toString(16)}, need 3.x`);
      throw failure;
    }
    loaded = lib.symbols;
    return loaded;
  };
  const status = () => {
    if (loaded) return null;
    if (failure) return failure.message;
    try {
      if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
        return `${name}: FFI permission not granted (--allow-ffi)`;
      }
      symbols();
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  return { symbols, status };
}
