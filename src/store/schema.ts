/**
 * The store's own tables, inside the replicated database so that snapshots carry them: the applied index
 * and the last command timestamp (meta), cluster-wide settings fixed at creation (config), and the dedupe
 * state (clients with their highest and acknowledged-below seqs, results). All names use the reserved prefix, which user SQL cannot reach.
 */
export const FORMAT_VERSION = 1;

export const CREATE_SCHEMA = `
CREATE TABLE __chisel_meta(id INTEGER PRIMARY KEY, applied_index INTEGER NOT NULL, last_ts INTEGER NOT NULL);
CREATE TABLE __chisel_config(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE __chisel_clients(client TEXT PRIMARY KEY, max_seq INTEGER NOT NULL, last_ts INTEGER NOT NULL, acked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX __chisel_clients_ts ON __chisel_clients(last_ts);
CREATE TABLE __chisel_results(client TEXT NOT NULL, seq INTEGER NOT NULL, result BLOB NOT NULL,
  PRIMARY KEY(client, seq)) WITHOUT ROWID;
INSERT INTO __chisel_meta VALUES (0, 0, 0);
`;

/**
 * Written first in every command's transaction. REPLACE on rowid 0 also resets the connection's
 * last_insert_rowid() and changes() to the same values on every replica (a replica restored from a
 * snapshot has a fresh connection whose counters would otherwise differ from one that replayed the log).
 */
export const SQL_META_PUT =
  "INSERT OR REPLACE INTO __chisel_meta(id, applied_index, last_ts) VALUES (0, ?, ?)";
export const SQL_META_GET = "SELECT applied_index, last_ts FROM __chisel_meta WHERE id = 0";
export const SQL_CONFIG_GET = "SELECT key, value FROM __chisel_config";
export const SQL_RESULT_GET = "SELECT result FROM __chisel_results WHERE client = ? AND seq = ?";
export const SQL_RESULT_PUT = "INSERT INTO __chisel_results(client, seq, result) VALUES (?, ?, ?)";
export const SQL_RESULT_PRUNE = "DELETE FROM __chisel_results WHERE client = ? AND seq <= ?";
/**
 * Databases made before request-id acknowledgements lack `acked`. The column is added on open, with the
 * text CREATE_SCHEMA spells out, so a migrated schema reads exactly like a fresh one.
 */
export const SQL_HAS_ACKED =
  "SELECT count(*) FROM pragma_table_info('__chisel_clients') WHERE name = 'acked'";
export const SQL_ADD_ACKED = "ALTER TABLE __chisel_clients ADD COLUMN acked INTEGER NOT NULL DEFAULT 0";
export const SQL_CLIENT_GET = "SELECT max_seq, acked FROM __chisel_clients WHERE client = ?";
export const SQL_CLIENT_PUT =
  `INSERT INTO __chisel_clients(client, max_seq, last_ts, acked) VALUES (?1, ?2, ?3, ?4)
  ON CONFLICT(client) DO UPDATE SET max_seq = max(max_seq, ?2), last_ts = ?3, acked = max(acked, ?4)`;
export const SQL_EXPIRE_RESULTS =
  "DELETE FROM __chisel_results WHERE client IN (SELECT client FROM __chisel_clients WHERE last_ts < ?)";
export const SQL_EXPIRE_CLIENTS = "DELETE FROM __chisel_clients WHERE last_ts < ?";
/** total_changes() tells whether a statement ran DML at all (changes() keeps the last DML's count). */
export const SQL_STATS = "SELECT total_changes(), changes(), last_insert_rowid()";
