import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { layerNameList } from '../../src/cut/layerNameList.js';

describe('layerNameList', () => {
  it('folds one plan\'s consecutive chunks into ranges and keeps other names and the order', () => {
    const chunks = Array.from({ length: 263 }, (_, i) => `tree:/data#${i + 1}`);
    assert.equal(
      layerNameList(['kmods', ...chunks, 'tree:/data#266', 'tree:/data#268', 'tree:/data#269', 'overlay']),
      'kmods tree:/data#{1-263,266,268-269} overlay',
    );
  });
  it('a lone chunk keeps its plain name; chunks of two plans stay apart', () => {
    assert.equal(layerNameList(['tree:/data#5']), 'tree:/data#5');
    assert.equal(layerNameList(['kmods#2', 'tree:/a#1', 'tree:/a#2', 'tree:/b#3']), 'kmods#2 tree:/a#{1-2} tree:/b#3');
    assert.equal(layerNameList([]), '');
  });
});
