// Builds the dashboard into ../baleine/ui/static/ (committed: pip install needs no Node).
// One command from a clean checkout: `npm ci && npm run build`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../baleine/ui/static/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  outdir: out,
  legalComments: "linked",
  logLevel: "info",
});
copyFileSync("src/index.html", out + "index.html");
