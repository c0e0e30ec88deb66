// Which secret files a run accepts (hal/node/files.ts secretModeProblem): ours only when nobody
// else may touch them, as ssh wants a private key; one that root owns also when its group may
// read it, as PostgreSQL allows its key: the Debian package's /etc/lifeline is root:lifeline, and
// the service runs as lifeline (docs/reference.md, secret files).

import { afterEach, describe, expect, it, vi } from 'vitest';

import { secretModeProblem } from '../../hal/node/files';

const PATH = '/etc/lifeline/console.key';

function runningAs(uid: number): void {
  vi.spyOn(process, 'getuid').mockReturnValue(uid);
}

describe('secret file modes', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('accepts 0600 and 0400 files of ours, and refuses any group or other access to them', () => {
    runningAs(998);
    expect(secretModeProblem(PATH, { mode: 0o100600, uid: 998 })).toBe('');
    expect(secretModeProblem(PATH, { mode: 0o100400, uid: 998 })).toBe('');
    expect(secretModeProblem(PATH, { mode: 0o100640, uid: 998 })).toBe(
      'is open to group or others (mode 0640): run chmod 600 ' + PATH,
    );
    expect(secretModeProblem(PATH, { mode: 0o100604, uid: 998 })).toBe(
      'is open to group or others (mode 0604): run chmod 600 ' + PATH,
    );
  });

  it('lets the group read a file root owns, but never write it, and never others', () => {
    runningAs(998);
    expect(secretModeProblem(PATH, { mode: 0o100640, uid: 0 })).toBe('');
    expect(secretModeProblem(PATH, { mode: 0o100660, uid: 0 })).toBe(
      'is open to group or others (mode 0660): run chmod 640 ' + PATH,
    );
    expect(secretModeProblem(PATH, { mode: 0o100644, uid: 0 })).toBe(
      'is open to group or others (mode 0644): run chmod 640 ' + PATH,
    );
    expect(secretModeProblem(PATH, { mode: 0o100641, uid: 0 })).toBe(
      'is open to group or others (mode 0641): run chmod 640 ' + PATH,
    );
  });

  it('treats root running on a file of its own as ours: 0640 is refused', () => {
    runningAs(0);
    expect(secretModeProblem(PATH, { mode: 0o100640, uid: 0 })).toBe(
      'is open to group or others (mode 0640): run chmod 600 ' + PATH,
    );
    expect(secretModeProblem(PATH, { mode: 0o100600, uid: 0 })).toBe('');
  });
});
