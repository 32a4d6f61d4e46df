import assert from 'node:assert/strict';
import { messageIdFor } from '../../../engine/runtime/hl7-intake';

describe('engine/runtime message ids', () => {
  it('follows the dedupe key: same key, same id; any part different, another id', () => {
    const id = messageIdFor('adt', 'HIS^HOSP', 'MSG1');
    assert.equal(messageIdFor('adt', 'HIS^HOSP', 'MSG1'), id);
    assert.notEqual(messageIdFor('adt', 'HIS^HOSP', 'MSG2'), id);
    assert.notEqual(messageIdFor('adt', 'LAB^HOSP', 'MSG1'), id);
    assert.notEqual(messageIdFor('oru', 'HIS^HOSP', 'MSG1'), id);
    // No ambiguity from where one part ends and the next begins.
    assert.notEqual(messageIdFor('a', 'bc', 'd'), messageIdFor('ab', 'c', 'd'));
  });
  it('is shaped like a UUID (the store and API treat ids as UUIDs)', () => {
    assert.match(messageIdFor('adt', 'HIS^HOSP', 'MSG1'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
