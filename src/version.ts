/** The tsvpn release, reported by --version, the management interface and peer-info. */
export const VERSION = "0.1.0";
