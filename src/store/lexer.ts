/**
 * A small SQLite tokenizer and statement splitter, enough for the validator: it must see the same token
 * boundaries SQLite sees (strings, quoted identifiers, comments, blobs), so a forbidden keyword cannot hide
 * in a comment and a harmless word inside a string is not mistaken for one.
 */

export type TokenKind = "word" | "qident" | "string" | "blob" | "number" | "param" | "punct";

export interface Token {
  kind: TokenKind;
  /** Words are upper-cased; quoted identifiers and strings are unquoted (escapes resolved), case kept. */
  text: string;
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f";
const isDigit = (c: string) => c >= "0" && c <= "9";
// SQLite treats every byte >= 0x80 as an identifier character.
const isIdStart = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_" || c > "\x7f";
const isIdChar = (c: string) => isIdStart(c) || isDigit(c) || c === "$";

function quoted(sql: string, i: number, close: string, doubled: boolean): [string, number] {
  let out = "";
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === close) {
      if (doubled && sql[j + 1] === close) {
        out += close;
        j += 2;
        continue;
      }
      return [out, j + 1];
    }
    out += c;
    j++;
  }
  return [out, j]; // unterminated: SQLite rejects it ("unrecognized token"); the text still gets checked
}

/** Opening quote -> token kind, closing quote, and whether a doubled closing quote escapes it. */
const QUOTES: Record<string, [TokenKind, string, boolean]> = {
  "'": ["string", "'", true],
  '"': ["qident", '"', true],
  "`": ["qident", "`", true],
  "[": ["qident", "]", false],
};
const BLOB_QUOTE: [TokenKind, string, boolean] = ["blob", "'", false];

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (isSpace(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (QUOTES[c] || ((c === "x" || c === "X") && sql[i + 1] === "'")) {
      const blob = !QUOTES[c];
      const [kind, close, doubled] = blob ? BLOB_QUOTE : QUOTES[c];
      const [text, j] = quoted(sql, blob ? i + 1 : i, close, doubled);
      out.push({ kind, text });
      i = j;
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < sql.length && isIdChar(sql[j])) j++;
      out.push({ kind: "word", text: sql.slice(i, j).toUpperCase() });
      i = j;
    } else if (isDigit(c) || (c === "." && isDigit(sql[i + 1] ?? ""))) {
      let j = i + 1;
      while (
        j < sql.length &&
        (isIdChar(sql[j]) || sql[j] === "." ||
          ((sql[j] === "+" || sql[j] === "-") && /[eE]/.test(sql[j - 1])))
      ) j++;
      out.push({ kind: "number", text: sql.slice(i, j) });
      i = j;
    } else if (c === "?" || c === ":" || c === "@" || c === "$" || c === "#") {
      let j = i + 1;
      while (j < sql.length && isIdChar(sql[j])) j++;
      out.push({ kind: "param", text: sql.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: "punct", text: c });
      i++;
    }
  }
  return out;
}

const isWord = (t: Token | undefined, w: string) => t?.kind === "word" && t.text === w;

/**
 * Splits tokens into statements at top-level semicolons. Like sqlite3_complete(), a CREATE TRIGGER body
 * (which holds semicolons) ends only at `; END ;` (or `; END` at the end of input).
 */
export function splitStatements(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let inTrigger = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "punct" && t.text === ";") {
      if (!inTrigger) {
        if (cur.length > 0) out.push(cur);
        cur = [];
        continue;
      }
      cur.push(t);
      if (isWord(tokens[i + 1], "END") && (tokens[i + 2] === undefined || tokens[i + 2].text === ";")) {
        cur.push(tokens[++i]);
        inTrigger = false;
      }
      continue;
    }
    cur.push(t);
    if (cur.length <= 3 && t.kind === "word" && t.text === "TRIGGER" && isWord(cur[0], "CREATE")) {
      inTrigger = true;
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
