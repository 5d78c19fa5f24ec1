/**
 * Benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- clixml` one of them.
 * Each benchmark prints a table of figures; nothing here asserts timings.
 */
import { machine } from './util.js';

const benches: Record<string, () => Promise<void>> = {
  clixml: async () => (await import('./clixml.js')).run(),
  roundtrips: async () => (await import('./roundtrips.js')).run(),
  throughput: async () => (await import('./throughput.js')).run(),
  streaming: async () => (await import('./streaming.js')).run(),
  'file-transfer': async () => (await import('./file-transfer.js')).run(),
  cpu: async () => (await import('./client-cpu.js')).run(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(benches);
console.log(machine());
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  await bench();
}
