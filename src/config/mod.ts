/**
 * The configuration layer's public API: YAML (and OpenVPN profiles) in,
 * validated typed config out, errors as one-line ConfigErrors.
 */

export { ConfigError } from "./config_error.ts";
export {
  loadConfig,
  loadConfigOrProfile,
  type LoadedConfig,
  parseConfig,
  type ParseOptions,
} from "./load.ts";
export { type OvpnClientResult, type OvpnParseOptions, parseOvpnClient } from "./ovpn_client.ts";
export type { IgnoredOption } from "./ovpn_lexer.ts";
export {
  type CcdFile,
  type ImportedOption,
  type OvpnServerImport,
  type OvpnServerImportOptions,
  readCcdDir,
  translateOvpnServer,
} from "./ovpn_server.ts";
export { readPemSource } from "./pem_source.ts";
export * from "./schema.ts";
