import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/loadConfig.js';
import { parseRecipe } from '../../../src/derivations/recipe/parseRecipe.js';
import { planLayers } from '../../../src/derivations/layerPlan.js';
import { RapidoError } from '../../../src/errors.js';

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-recipe-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isErr = (code: string, re?: RegExp) => (e: unknown) => e instanceof RapidoError && e.code === code && (!re || re.test(e.message));

test('recipe: directives, includes, expansion, relative host paths, env defaults', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'common.inc'), 'bin bash\nkmod zram\n');
    writeFileSync(
      join(dir, 'r.rapido'),
      [
        'description Test things on ${FS}',
        'require SRC',
        'include common.inc',
        'tree /src ${SRC}',
        'autorun auto/run.sh',
        'file /etc/x "/host dir/x"',
        'env ZRAM_SIZE 1G',
        'vm-cpus 3',
        'vm-mem 1g',
        'filter /usr/share/man',
        'dracut-module base',
      ].join('\n'),
    );
    const conf = loadConfig(dir, { SRC: '/s', FS: 'btrfs' });
    const r = parseRecipe('r', join(dir, 'r.rapido'), conf);
    assert.equal(r.description, 'Test things on btrfs');
    assert.deepEqual(r.files, [join(dir, 'r.rapido'), join(dir, 'common.inc')]);
    assert.deepEqual(
      r.directives.map((d) => [d.kind, ...d.args]),
      [
        ['bin', 'bash'],
        ['kmod', 'zram'],
        ['tree', '/src', '/s'],
        ['autorun', join(dir, 'auto/run.sh')],
        ['file', '/etc/x', '/host dir/x'],
        ['vm-cpus', '3'],
        ['vm-mem', '1g'],
        ['filter', '/usr/share/man'],
        ['dracut-module', 'base'],
      ],
    );
    assert.deepEqual(r.vars, { FS: 'btrfs', SRC: '/s', ZRAM_SIZE: '1G' });
    assert.equal(r.directives[1].file, join(dir, 'common.inc'));
    assert.equal(r.directives[1].line, 2);
    // Layers: ordered by how often they change, filters in every native layer.
    const plans = planLayers(r);
    assert.deepEqual(plans.map((p) => p.name), ['dracut', 'system', 'tree:/src', 'kconfig', 'kmod-index', 'kmods', 'overlay']);
    assert.ok(plans.find((p) => p.name === 'kmods')!.directives.some((d) => d.kind === 'filter'));
    assert.ok(!plans.find((p) => p.name === 'dracut')!.directives.some((d) => d.kind === 'filter'));
  });
});

test('recipe: errors name the file, line and variable', () => {
  withDir((dir) => {
    const conf = loadConfig(dir, {});
    const write = (text: string) => {
      writeFileSync(join(dir, 'bad.rapido'), text);
      return () => parseRecipe('bad', join(dir, 'bad.rapido'), conf);
    };
    assert.throws(write('bin bash\nfrobnicate x\n'), isErr('RECIPE_SYNTAX', /bad\.rapido:2: unknown directive 'frobnicate'/));
    assert.throws(write('tree /only-one\n'), isErr('RECIPE_SYNTAX', /'tree' takes 2 to 3 argument/));
    assert.throws(write('bin ${NOPE}/x\n'), isErr('CONF_MISSING', /bad\.rapido:1: \$\{NOPE\} is not set/));
    assert.throws(write('require FSTESTS_SRC\n'), isErr('CONF_MISSING', /FSTESTS_SRC is not set \(required by .*bad\.rapido:1\)/));
    assert.throws(write('vm-mem lots\n'), isErr('RECIPE_SYNTAX', /vm-mem wants a size/));
    assert.throws(write('dir relative/path\n'), isErr('RECIPE_SYNTAX', /must be absolute/));
    assert.throws(write('include bad.rapido\n'), isErr('RECIPE_INCLUDE_CYCLE'));
    assert.throws(write('include missing.inc\n'), isErr('RECIPE_NOT_FOUND'));
    assert.throws(write('env NEEDED\n'), isErr('CONF_MISSING', /NEEDED is not set/));
  });
});

test('shipped recipes parse and plan', async () => {
  const { listRecipeFiles } = await import('../../../src/derivations/recipe/findRecipe.js');
  withDir((dir) => {
    const conf = loadConfig(dir, {
      FSTESTS_SRC: '/fs', BLKTESTS_SRC: '/blk', CEPH_SRC: '/ceph', SSH_AUTHORIZED_KEY: 'ssh-ed25519 AAAA test',
      CEPH_CONF: '/c/ceph.conf', CEPH_KEYRING: '/c/keyring', CEPH_USER: 'admin', CEPH_RBD_POOL: 'rbd', CEPH_RBD_IMAGE: 'rapido', CIFS_PW: 'pw',
    });
    const names = listRecipeFiles(conf).map((r) => r.name);
    for (const want of ['simple-example', 'fstests-btrfs', 'fstests-xfs', 'blktests-zram']) assert.ok(names.includes(want), want);
    for (const r of listRecipeFiles(conf)) {
      const recipe = parseRecipe(r.name, r.path, conf);
      assert.ok(recipe.description, `${r.name} has a description`);
      assert.ok(recipe.directives.some((d) => d.kind === 'autorun'), `${r.name} has an autorun`);
      assert.ok(planLayers(recipe).some((p) => p.kind === 'kmods'));
    }
  });
});

test('vm-drive: a QEMU block URL stays as written, a relative file is the manifest\'s; the stamp\'s VM gets both; a bad format is an error', async () => {
  const { recipeVmResources } = await import('../../../src/image/vmResources.js');
  withDir((dir) => {
    const conf = loadConfig(dir, { POOL: 'rbd' });
    writeFileSync(join(dir, 'd.rapido'), 'vm-drive rbd:${POOL}/img:conf=/c/ceph.conf\nvm-drive disks/a.qcow2 qcow2\n');
    const recipe = parseRecipe('d', join(dir, 'd.rapido'), conf);
    assert.deepEqual(recipeVmResources(recipe).drives, [
      { file: 'rbd:rbd/img:conf=/c/ceph.conf', format: 'raw' },
      { file: join(dir, 'disks/a.qcow2'), format: 'qcow2' },
    ]);
    assert.ok(planLayers(recipe).find((p) => p.kind === 'overlay')!.directives.some((d) => d.kind === 'vm-drive'), 'a changed drive re-cuts the overlay');
    writeFileSync(join(dir, 'd.rapido'), 'vm-drive /x "raw,if=ide"\n');
    assert.throws(() => parseRecipe('d', join(dir, 'd.rapido'), conf), isErr('RECIPE_SYNTAX', /vm-drive's format must be a QEMU format name/));
  });
});
