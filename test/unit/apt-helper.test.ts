/**
 * scripts/lib/apt.sh, the apt helper every scripts/ensure-*.sh sources, run by bash against fake
 * apt-get, dpkg-query and id commands first on PATH (they log what they were asked): it updates the
 * package lists only when there are none, installs only what is missing, and refuses clearly when
 * it is not root.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const HELPER = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/lib/apt.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `apt_install label pkgs...` with fakes: `installed` packages are installed, `uid` is id -u. */
function run(options: {
  installed: string[];
  uid: number;
  lists: boolean;
  pkgs: string[];
  /** A script to run after sourcing instead of apt_install (the fakes log to $CALLS). */
  script?: string;
}): {
  status: number | null;
  stderr: string;
  calls: string[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'psrp-apt-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  const lists = join(dir, 'lists');
  mkdirSync(bin);
  mkdirSync(lists);
  if (options.lists)
    writeFileSync(join(lists, 'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4'), '');
  const log = join(dir, 'calls');
  const fake = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  fake('apt-get', `echo "apt-get $*" >> ${log}`);
  fake('id', `echo ${options.uid}`);
  fake(
    'dpkg-query',
    `case " ${options.installed.join(' ')} " in *" \${@: -1} "*) echo -n 'install ok installed';; *) exit 1;; esac`,
  );
  const r = spawnSync(
    'bash',
    [
      '-c',
      `set -euo pipefail; . ${HELPER}; ${options.script ?? `apt_install "test peers" ${options.pkgs.join(' ')}`}`,
    ],
    { env: { PATH: `${bin}:/usr/bin:/bin`, APT_LISTS_DIR: lists, CALLS: log }, encoding: 'utf8' },
  );
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: r.status, stderr: r.stderr, calls };
}

describe('scripts/lib/apt.sh', () => {
  it('installs only the missing packages, after apt-get update when there are no package lists', () => {
    const r = run({
      installed: ['openssl'],
      uid: 0,
      lists: false,
      pkgs: ['openssl', 'tinyproxy', 'faketime'],
    });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends tinyproxy faketime',
    ]);
  });

  it('does not update lists that are there, and does nothing when all is installed', () => {
    expect(run({ installed: [], uid: 0, lists: true, pkgs: ['tinyproxy'] }).calls).toEqual([
      'apt-get install -y -qq --no-install-recommends tinyproxy',
    ]);
    const none = run({ installed: ['tinyproxy'], uid: 0, lists: false, pkgs: ['tinyproxy'] });
    expect(none.status).toBe(0);
    expect(none.calls).toEqual([]);
  });

  it('not root: exits 1 naming the packages and what to run, and installs nothing', () => {
    const r = run({ installed: [], uid: 1000, lists: true, pkgs: ['gss-ntlmssp', 'faketime'] });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.stderr).toMatch(/test peers: missing Debian packages gss-ntlmssp faketime; as root run: /);
    expect(r.stderr).toMatch(/apt-get install -y gss-ntlmssp faketime/);
  });

  it('apt_ensure installs when the check finds a gap, and exits 1 when the gap stays', () => {
    // The check reports "tinyproxy" until apt-get has been asked to install something.
    const check = 'gap() { grep -q install "$CALLS" 2>/dev/null || echo tinyproxy; }';
    const fixed = run({
      installed: [],
      uid: 0,
      lists: true,
      pkgs: [],
      script: `${check}; apt_ensure peers gap tinyproxy`,
    });
    expect(fixed.status).toBe(0);
    expect(fixed.calls).toEqual(['apt-get install -y -qq --no-install-recommends tinyproxy']);
    const stays = run({
      installed: [],
      uid: 0,
      lists: true,
      pkgs: [],
      script: 'gap() { echo sshd; }; apt_ensure peers gap openssh-server',
    });
    expect(stays.status).toBe(1);
    expect(stays.stderr).toMatch(
      /peers: still missing sshd after installing the Debian packages openssh-server/,
    );
  });
});
