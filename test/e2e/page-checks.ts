// Checks that run in the page (waitForFunction sends their source; the app's CSP forbids evaluating strings there),
// shared by the browser tests. Each reaches the document itself: this file compiles without the DOM library.

/** The little of the DOM the page-side checks use. */
export type PageDocument = {
  querySelector(s: string): { getAttribute(n: string): string | null; textContent: string | null } | null;
};

/** The master meter reads above `db`: the mix is sounding. */
export const masterLevelAbove = (db: number) =>
  Number(
    (globalThis as unknown as { document: PageDocument }).document
      .querySelector('[aria-label="Master level"]')
      ?.getAttribute('aria-valuenow'),
  ) > db;

/** The master meter reads at most `db`: the mix is silent. */
export const masterLevelAtMost = (db: number) =>
  Number(
    (globalThis as unknown as { document: PageDocument }).document
      .querySelector('[aria-label="Master level"]')
      ?.getAttribute('aria-valuenow'),
  ) <= db;
