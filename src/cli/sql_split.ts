/**
 * Splits shell input into SQL statements at `;`, the way sqlite3's shell decides a statement is complete:
 * a `;` inside a string ('…'), a quoted identifier ("…", `…`, […]) or a comment (-- …, / * … * /) does not
 * end a statement, nor does one inside the body of CREATE TRIGGER … BEGIN … END.
 */

export interface SplitResult {
  /** Complete statements, trimmed, without their final `;`; comment-only statements are dropped. */
  statements: string[];
  /** The unfinished tail (an open statement, string or comment): prepend it to the next input line. */
  rest: string;
}

const CLOSERS: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };

/** True when `text` holds no SQL besides whitespace and comments. */
function blank(text: string): boolean {
  return text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "").trim() === "";
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}

export function splitStatements(input: string): SplitResult {
  const statements: string[] = [];
  let start = 0;
  // Words seen in the current statement: the first few tell a trigger, the last one whether END came.
  let words: string[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    const closer = CLOSERS[c];
    if (closer !== undefined) {
      // A doubled closing quote ('it''s') is an escaped quote: keep scanning the same token.
      let j = i + 1;
      for (;;) {
        const k = input.indexOf(closer, j);
        if (k < 0) return { statements, rest: input.slice(start) };
        if (closer !== "]" && input[k + 1] === closer) {
          j = k + 2;
          continue;
        }
        i = k + 1;
        break;
      }
      words.push("?");
      continue;
    }
    if (c === "-" && input[i + 1] === "-") {
      const k = input.indexOf("\n", i);
      if (k < 0) return { statements, rest: input.slice(start) };
      i = k + 1;
      continue;
    }
    if (c === "/" && input[i + 1] === "*") {
      const k = input.indexOf("*/", i + 2);
      if (k < 0) return { statements, rest: input.slice(start) };
      i = k + 2;
      continue;
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (isWordChar(input[j])) j++;
      words.push(input.slice(i, j).toUpperCase());
      i = j;
      continue;
    }
    if (c === ";") {
      if (!inTriggerBody(words)) {
        const text = input.slice(start, i);
        if (!blank(text)) statements.push(text.trim());
        start = i + 1;
        words = [];
      } else {
        words.push(";");
      }
    } else if (!/\s/.test(c)) {
      words.push(c);
    }
    i++;
  }
  const rest = input.slice(start);
  return { statements, rest: blank(rest) ? "" : rest };
}

/** CREATE [TEMP|TEMPORARY] TRIGGER …: a `;` ends it only right after its END. */
function inTriggerBody(words: string[]): boolean {
  if (words[0] !== "CREATE") return false;
  const kind = words[1] === "TEMP" || words[1] === "TEMPORARY" ? words[2] : words[1];
  return kind === "TRIGGER" && words.at(-1) !== "END";
}
