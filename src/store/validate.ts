/**
 * Statements that would make replicas diverge or reach outside the replicated database are refused, by the
 * node before proposing (checkStatements) and, with the same code, by the applier. sql.js exposes no
 * authorizer (sqlite3_set_authorizer), so this works on tokens; see docs/store.md for the full list.
 */
import type { Params, Statement } from "./command.ts";
import { ValidationError } from "./errors.ts";
import { splitStatements, type Token, tokenize } from "./lexer.ts";

/** Tables, indexes and triggers of the store itself; user SQL may not name anything with this prefix. */
export const INTERNAL_PREFIX = "__chisel_";

/** Read-only pragmas whose answer depends only on the database content (and the pinned SQLite build). */
const READ_PRAGMAS = new Set([
  "application_id",
  "auto_vacuum",
  "collation_list",
  "compile_options",
  "defer_foreign_keys",
  "encoding",
  "foreign_key_check",
  "foreign_key_list",
  "foreign_keys",
  "freelist_count",
  "function_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "module_list",
  "page_count",
  "page_size",
  "pragma_list",
  "quick_check",
  "recursive_triggers",
  "schema_version",
  "table_info",
  "table_list",
  "table_xinfo",
  "user_version",
]);
/** Pragmas whose argument is a query parameter, not a new setting. */
const ARG_PRAGMAS = new Set([
  "foreign_key_check",
  "foreign_key_list",
  "index_info",
  "index_list",
  "index_xinfo",
  "integrity_check",
  "quick_check",
  "table_info",
  "table_list",
  "table_xinfo",
]);
/**
 * Settings that live in the database file header (so snapshots carry them) or last only for the current
 * transaction (defer_foreign_keys: every command is its own transaction).
 */
const WRITE_PRAGMAS = new Set(["application_id", "defer_foreign_keys", "user_version"]);

/** Connection-local state: differs between a replica that replayed the log and one restored from a snapshot. */
const BLOCKED_FUNCTIONS = new Map([
  ["LOAD_EXTENSION", "load_extension() is not allowed"],
  ["TOTAL_CHANGES", "total_changes() counts per connection and differs between replicas"],
  ["FTS3_TOKENIZER", "fts3_tokenizer() is not allowed: it reads and sets native pointers"],
]);

const TXN_WORDS = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

const lower = (t: Token) => (t.kind === "word" ? t.text.toLowerCase() : t.text.toLowerCase());
const isName = (t: Token | undefined): t is Token =>
  t !== undefined && (t.kind === "word" || t.kind === "qident");
const isPunct = (t: Token | undefined, p: string) => t?.kind === "punct" && t.text === p;

function checkPragma(toks: Token[], at: number): string | undefined {
  let i = at + 1;
  if (isName(toks[i]) && isPunct(toks[i + 1], ".")) {
    if (lower(toks[i]) !== "main") return "PRAGMA may only address the main schema";
    i += 2;
  }
  const nameTok = toks[i];
  if (!isName(nameTok)) return "PRAGMA without a name";
  const name = lower(nameTok);
  const rest = toks.slice(i + 1);
  const assigns = rest.length > 0 &&
    (isPunct(rest[0], "=") || (isPunct(rest[0], "(") && !ARG_PRAGMAS.has(name)));
  if (assigns ? WRITE_PRAGMAS.has(name) : READ_PRAGMAS.has(name)) return undefined;
  const allowed = [...WRITE_PRAGMAS].join(", ");
  return assigns
    ? `PRAGMA ${name} = ... is not allowed: it changes per-node or physical state (settable: ${allowed})`
    : `PRAGMA ${name} is not allowed: it reads per-node or physical state`;
}

/** Why this one SQL statement (tokens) must not run, or undefined. */
function checkOne(toks: Token[]): string | undefined {
  let at = 0;
  if (toks[at]?.text === "EXPLAIN") at++;
  if (toks[at]?.text === "QUERY" && toks[at + 1]?.text === "PLAN") at += 2;
  const head = toks[at];
  if (head?.kind === "word") {
    switch (head.text) {
      case "ATTACH":
      case "DETACH":
        return `${head.text} is not allowed: only the replicated main database exists`;
      case "VACUUM":
        return "VACUUM is not allowed: VACUUM INTO writes files, and VACUUM cannot run inside the apply transaction";
      case "PRAGMA":
        return checkPragma(toks, at);
      case "CREATE":
        if (toks[at + 1]?.text === "TEMP" || toks[at + 1]?.text === "TEMPORARY") {
          return "TEMP objects are not allowed: they are per connection and snapshots do not carry them";
        }
        break;
      default:
        if (TXN_WORDS.has(head.text)) {
          return `${head.text} is not allowed: use the command's transaction flag for atomic batches`;
        }
    }
  }
  for (let i = at; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === "word" || t.kind === "qident" || t.kind === "string") {
      const l = lower(t);
      if (l.startsWith(INTERNAL_PREFIX)) {
        return `names starting with ${INTERNAL_PREFIX} are reserved by the store`;
      }
      if (
        l === "sqlite_temp_master" || l === "sqlite_temp_schema" ||
        (l === "temp" && isPunct(toks[i + 1], "."))
      ) {
        return "the temp schema is not allowed: it is per connection and snapshots do not carry it";
      }
      // SQLite takes a string where a table name is expected (FROM 'pragma_x'), so a string counts in
      // that position; elsewhere 'pragma_...' is just text.
      const tableName = t.kind !== "string" || /^(FROM|JOIN|,|\.)$/.test(toks[i - 1]?.text ?? "");
      if (tableName && l.startsWith("pragma_") && !READ_PRAGMAS.has(l.slice(7))) {
        return `${l} is not allowed: it reads per-node or physical state`;
      }
      // A quoted name calls the same function ("total_changes"() is total_changes()).
      if (t.kind !== "string" && isPunct(toks[i + 1], "(")) {
        const why = BLOCKED_FUNCTIONS.get(t.text.toUpperCase());
        if (why) return why;
      }
    }
  }
  return undefined;
}

function hasParams(p: Params | undefined): boolean {
  if (p === undefined) return false;
  return Array.isArray(p) ? p.length > 0 : Object.keys(p).length > 0;
}

/**
 * Returns why the statements must not be proposed (or applied), or undefined when they may.
 * Deterministic: depends only on the statements.
 */
export function checkStatements(statements: readonly Statement[]): ValidationError | undefined {
  if (!Array.isArray(statements) || statements.length === 0) return new ValidationError("no statements", -1);
  for (let i = 0; i < statements.length; i++) {
    const { sql, params } = statements[i];
    if (typeof sql !== "string") return new ValidationError("sql must be a string", i);
    const parts = splitStatements(tokenize(sql));
    if (parts.length === 0) return new ValidationError("empty statement", i);
    if (parts.length > 1 && hasParams(params)) {
      return new ValidationError("parameters need exactly one SQL statement per entry", i);
    }
    for (const toks of parts) {
      const why = checkOne(toks);
      if (why) return new ValidationError(why, i);
    }
  }
  return undefined;
}
