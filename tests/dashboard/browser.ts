/** Headless Debian Chromium for the browser tests, driven by playwright-core (which never downloads one). */
import { existsSync } from "node:fs";
import process from "node:process";
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** The flags that work on this kind of machine (no sandbox as root; no background network). */
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Why the browser tests cannot run here, or false when they can. A machine without Debian's Chromium skips
 * them (saying so); CI never does: .ci/run installs it, and under CI a missing browser fails the tests.
 */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM) || process.env.CI) return false;
  return `${CHROMIUM} is missing (apt-get install chromium, as .ci/run does)`;
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  }
  const { chromium } = await import("playwright-core");
  return await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}
