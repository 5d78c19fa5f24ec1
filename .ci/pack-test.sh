#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (prepare builds dist/ from a clean tree), install the
# tarball into an empty project, then `npx psrp --version` and a script against the lab from there,
# as an ES module and as CommonJS. Run from the repository root after `npm ci`.
set -euo pipefail
root=$(pwd)
out=$(mktemp -d)
tarball=$(npm pack --silent --pack-destination "$out" | tail -n 1)
echo "== packed $tarball ($(du -h "$out/$tarball" | cut -f1))"
if tar -tzf "$out/$tarball" | grep -E '\.js\.map$' >/dev/null; then
  # Every source map must find its source inside the package.
  tar -xzf "$out/$tarball" -C "$out"
  node -e '
    const fs = require("fs"), path = require("path");
    const base = process.argv[1]; let n = 0, bad = [];
    const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".map")) { n++;
        for (const s of JSON.parse(fs.readFileSync(p, "utf8")).sources)
          if (!fs.existsSync(path.resolve(path.dirname(p), s))) bad.push(`${p} -> ${s}`); } } };
    walk(path.join(base, "dist"));
    if (bad.length) { console.error("source maps name sources the package lacks:\n" + bad.slice(0, 5).join("\n")); process.exit(1); }
    console.log(`== ${n} source maps, every source shipped`);' "$out/package"
fi
app="$out/app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
npm install --no-audit --no-fund "$out/$tarball"
echo "== npx psrp --version: $(npx --no-install psrp --version)"
cp "$root/.ci/pack/esm.mjs" "$root/.ci/pack/cjs.cjs" .
node esm.mjs
node cjs.cjs

# README's other install route: from git (npm clones it, installs its devDependencies and runs
# prepare, which builds dist/).
git_app="$out/git-app"
mkdir -p "$git_app"
cd "$git_app"
npm init -y >/dev/null
npm install --no-audit --no-fund "git+file://$root#$(git -C "$root" rev-parse HEAD)"
echo "== installed from git: npx psrp --version: $(npx --no-install psrp --version)"
node --input-type=module -e "import { RunspacePool } from 'psrp'; if (typeof RunspacePool.open !== 'function') process.exit(1);"
rm -rf "$out"
