/**
 * Renders query results as an aligned text table with a header, in the box style of rqlite's shell:
 *
 *   +----+-------+
 *   | id | name  |
 *   +----+-------+
 *   |  1 | fiona |
 *   +----+-------+
 *
 * Numbers are right-aligned, everything else left-aligned; NULL prints as NULL, BLOBs as X'hex'; control
 * characters are escaped so that one row stays one line. Widths count code points (East Asian wide
 * characters and emoji may still misalign).
 */

/** One cell as text, and whether it is right-aligned. */
function cell(value: unknown): { text: string; right: boolean } {
  if (value === null || value === undefined) return { text: "NULL", right: false };
  if (typeof value === "number" || typeof value === "bigint") return { text: String(value), right: true };
  if (value instanceof Uint8Array) {
    return {
      text: `X'${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()}'`,
      right: false,
    };
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return { text: escapeControl(text), right: false };
}

function escapeControl(text: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

function width(text: string): number {
  return [...text].length;
}

function pad(text: string, w: number, right: boolean): string {
  const fill = " ".repeat(w - width(text));
  return right ? fill + text : text + fill;
}

/** The table as lines (no trailing newline). Rows shorter than the header are padded with empty cells. */
export function formatTable(columns: string[], rows: readonly (readonly unknown[])[]): string[] {
  const head = columns.map((c) => escapeControl(c));
  const body = rows.map((r) =>
    columns.map((_, i) => (i < r.length ? cell(r[i]) : { text: "", right: false }))
  );
  const widths = head.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i].text))));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (cells: { text: string; right: boolean }[]) =>
    `| ${cells.map((c, i) => pad(c.text, widths[i], c.right)).join(" | ")} |`;
  if (columns.length === 0) return [];
  return [
    rule,
    line(head.map((text) => ({ text, right: false }))),
    rule,
    ...body.map(line),
    ...(body.length > 0 ? [rule] : []),
  ];
}
