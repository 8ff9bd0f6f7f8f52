/**
 * The one entry point to @peculiar/x509 for tsvpn: its dependency injection
 * needs the Reflect metadata polyfill loaded first, and ES modules evaluate
 * imports in order, so every pki module imports x509 from here.
 */
import "reflect-metadata";
export * from "@peculiar/x509";
