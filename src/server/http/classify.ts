/**
 * Read or write? rqlite asks SQLite (sqlite3_stmt_readonly), which sql.js does not expose, so this looks at
 * tokens and errs towards "write": a read taken for a write still gets the right answer (it goes through
 * the log, like a strong read), while a write taken for a read would be refused by the read-only path.
 */
import type { Statement } from "../../store/command.ts";
import { splitStatements, type Token, tokenize } from "../../store/lexer.ts";

/** Pragmas whose parenthesised argument is a query argument, not a new value. */
const ARG_PRAGMAS = new Set([
  "FOREIGN_KEY_CHECK",
  "FOREIGN_KEY_LIST",
  "INDEX_INFO",
  "INDEX_LIST",
  "INDEX_XINFO",
  "INTEGRITY_CHECK",
  "QUICK_CHECK",
  "TABLE_INFO",
  "TABLE_LIST",
  "TABLE_XINFO",
]);

const isPunct = (t: Token | undefined, p: string) => t?.kind === "punct" && t.text === p;

/** A write keyword outside parentheses (CTE bodies and sub-selects cannot write). */
function writesAtTop(toks: Token[], from: number): boolean {
  let depth = 0;
  for (let i = from; i < toks.length; i++) {
    const t = toks[i];
    if (isPunct(t, "(")) depth++;
    else if (isPunct(t, ")")) depth--;
    else if (depth === 0 && t.kind === "word") {
      if (t.text === "INSERT" || t.text === "UPDATE" || t.text === "DELETE") return true;
      // REPLACE INTO is a write; replace(...) is a function.
      if (t.text === "REPLACE" && !isPunct(toks[i + 1], "(")) return true;
    }
  }
  return false;
}

function isReadOnly(toks: Token[]): boolean {
  let at = 0;
  if (toks[at]?.text === "EXPLAIN") return true; // EXPLAIN [QUERY PLAN] only describes the statement
  const head = toks[at];
  if (head?.kind !== "word") return false;
  switch (head.text) {
    case "SELECT":
    case "VALUES":
    case "WITH":
      return !writesAtTop(toks, at + 1);
    case "PRAGMA": {
      at++;
      if (toks[at + 1] && isPunct(toks[at + 1], ".")) at += 2;
      const name = toks[at]?.text.toUpperCase() ?? "";
      const next = toks[at + 1];
      if (next === undefined) return true;
      return isPunct(next, "(") && ARG_PRAGMAS.has(name);
    }
    default:
      return false;
  }
}

/** True when every SQL statement in `s` only reads. */
export function isReadStatement(s: Statement): boolean {
  const parts = splitStatements(tokenize(s.sql));
  return parts.length > 0 && parts.every(isReadOnly);
}
