/**
 * Grouped bar charts as hand-written SVG (no dependency): one group per x label, one bar per series, a
 * linear y axis from 0 with "nice" ticks, a legend, and the value printed above each bar. Deterministic:
 * the same input gives the same bytes.
 */

export interface BarSeries {
  name: string;
  /** One value per group; null leaves the slot empty (not measured). */
  values: (number | null)[];
}

export interface BarChart {
  title: string;
  /** Label of the y axis, e.g. "requests/s". */
  unit: string;
  groups: string[];
  series: BarSeries[];
  /** A note under the title (machine, load). */
  subtitle?: string;
  width?: number;
  height?: number;
}

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"];

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A tick step of 1, 2 or 5 × 10^k giving at most about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

/** Short number labels: 1234 → "1,234", 0.5 → "0.5", 12.345 → "12.3". */
export function formatValue(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString("en-US");
  if (v >= 10) return (Math.round(v * 10) / 10).toString();
  return (Math.round(v * 100) / 100).toString();
}

export function renderBars(c: BarChart): string {
  for (const s of c.series) {
    if (s.values.length !== c.groups.length) {
      throw new Error(`series '${s.name}': ${s.values.length} values for ${c.groups.length} groups`);
    }
    for (const v of s.values) {
      if (v !== null && !(Number.isFinite(v) && v >= 0)) {
        throw new Error(`series '${s.name}': bad value ${v}`);
      }
    }
  }
  const width = c.width ?? 720;
  const height = c.height ?? 360;
  const left = 70;
  const right = 20;
  const top = c.subtitle ? 62 : 46;
  const bottom = 56;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...c.series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const step = niceStep(max);
  const yMax = max > 0 ? Math.ceil(max / step) * step : step;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${
      escapeXml(c.title)
    }</text>`,
  );
  if (c.subtitle) {
    out.push(
      `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555555">${escapeXml(c.subtitle)}</text>`,
    );
  }
  for (let t = 0; t <= yMax + step / 2; t += step) {
    const ty = y(t).toFixed(1);
    out.push(`<line x1="${left}" y1="${ty}" x2="${width - right}" y2="${ty}" stroke="#e0e0e0"/>`);
    out.push(
      `<text x="${left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${formatValue(t)}</text>`,
    );
  }
  out.push(
    `<text x="16" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">${
      escapeXml(c.unit)
    }</text>`,
  );
  const groupW = plotW / Math.max(1, c.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, c.series.length);
  c.groups.forEach((g, gi) => {
    const gx = left + gi * groupW;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null) return;
      const x = gx + groupW * 0.1 + si * barW;
      const by = y(v);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${
          (top + plotH - by).toFixed(1)
        }" fill="${COLORS[si % COLORS.length]}"><title>${
          escapeXml(`${s.name}, ${g}: ${formatValue(v)}`)
        }</title></rect>`,
      );
      out.push(
        `<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${
          (by - 3).toFixed(1)
        }" text-anchor="middle" font-size="10">${formatValue(v)}</text>`,
      );
    });
    out.push(
      `<text x="${(gx + groupW / 2).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${
        escapeXml(g)
      }</text>`,
    );
  });
  out.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="#333333"/>`,
  );
  let lx = left;
  const ly = height - 14;
  c.series.forEach((s, si) => {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(s.name)}</text>`);
    lx += 28 + s.name.length * 7;
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
