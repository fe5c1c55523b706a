/**
 * ChiselStore-TS public API. The consensus core is available today; the networked node, the SQL store
 * and the client arrive in later layers (see README.md).
 */
export * from "./src/omnipaxos/mod.ts";
