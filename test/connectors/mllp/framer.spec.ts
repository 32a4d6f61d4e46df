import assert from 'node:assert/strict';
import { frame, MllpFramer, OVERSIZE_HEAD_BYTES, type FramerEvent } from '../../../connectors/mllp/framer';

const SB = 0x0b;
const EB = 0x1c;
const CR = 0x0d;

/** Feeds chunks and returns a compact transcript: `m:<payload>`, `o:<bytes>`, `d:<bytes>`. */
function run(framer: MllpFramer, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) out.push(...framer.push(c).map(label));
  return out;
}

function label(e: FramerEvent): string {
  if (e.type === 'message') return `m:${e.payload.toString('latin1')}`;
  if (e.type === 'oversize') return `o:${e.bytes}`;
  return `d:${e.bytes}`;
}

function messages(events: string[]): string[] {
  return events.filter((e) => e.startsWith('m:')).map((e) => e.slice(2));
}

function discarded(events: string[]): number {
  return events.filter((e) => e.startsWith('d:')).reduce((n, e) => n + Number(e.slice(2)), 0);
}

const big = () => new MllpFramer({ maxMessageBytes: 1 << 20 });

describe('connectors/mllp/framer', () => {
  const first = 'MSH|^~\\&|A|B\rPID|1\r';
  const second = 'MSH|^~\\&|C|D\rEVN|A01\r';
  const stream = Buffer.concat([frame(first), frame(second)]);

  it('reads one frame from one chunk', () => {
    assert.deepEqual(run(big(), [frame(first)]), [`m:${first}`]);
  });

  it('reads several frames from one chunk', () => {
    assert.deepEqual(run(big(), [stream]), [`m:${first}`, `m:${second}`]);
  });

  it('reads a 2-frame stream split into two chunks at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const events = run(big(), [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(events, [`m:${first}`, `m:${second}`], `cut at ${cut}`);
    }
  });

  it('reads a 2-frame stream split into three chunks at every pair of offsets', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)];
        assert.deepEqual(messages(run(big(), chunks)), [first, second], `cuts at ${a}, ${b}`);
      }
    }
  });

  it('reads a stream fed one byte at a time', () => {
    const chunks = [...stream].map((byte) => Buffer.from([byte]));
    assert.deepEqual(run(big(), chunks), [`m:${first}`, `m:${second}`]);
  });

  it('waits for the CR when a chunk ends right after 0x1C', () => {
    const f = big();
    const framed = frame(first);
    assert.deepEqual(run(f, [framed.subarray(0, framed.length - 1)]), []);
    assert.deepEqual(run(f, [framed.subarray(framed.length - 1)]), [`m:${first}`]);
  });

  it('discards and counts bytes before, between and after frames', () => {
    const noisy = Buffer.concat([
      Buffer.from('junk\r\n'),
      frame(first),
      Buffer.from('\n\n'),
      frame(second),
      Buffer.from([0x00, CR, EB, 0xff]),
    ]);
    for (let cut = 0; cut <= noisy.length; cut++) {
      const events = run(big(), [noisy.subarray(0, cut), noisy.subarray(cut)]);
      assert.deepEqual(messages(events), [first, second], `cut at ${cut}`);
      assert.equal(discarded(events), 6 + 2 + 4, `cut at ${cut}`);
    }
  });

  it('keeps a 0x1C not followed by 0x0D as payload', () => {
    const payload = Buffer.from([0x41, EB, 0x42, EB, EB, 0x43]);
    const framed = frame(payload);
    assert.deepEqual(run(big(), [framed]), [`m:${payload.toString('latin1')}`]);
    // The same with every split, including between each 0x1C and the byte after it.
    for (let cut = 0; cut <= framed.length; cut++) {
      const events = run(big(), [framed.subarray(0, cut), framed.subarray(cut)]);
      assert.deepEqual(events, [`m:${payload.toString('latin1')}`], `cut at ${cut}`);
    }
  });

  it('does not end a frame at 0x1C followed by anything but 0x0D, even across chunks', () => {
    const f = big();
    assert.deepEqual(run(f, [Buffer.from([SB, 0x41, EB])]), []);
    assert.deepEqual(run(f, [Buffer.from([0x0a, 0x42, EB, CR])]), [`m:A${String.fromCharCode(EB)}\nB`]);
  });

  it('restarts the frame at a 0x0B inside a frame (resync), counting the abandoned bytes', () => {
    const abandoned = Buffer.concat([Buffer.from([SB]), Buffer.from('MSH|half')]);
    const data = Buffer.concat([abandoned, frame(first)]);
    for (let cut = 0; cut <= data.length; cut++) {
      const events = run(big(), [data.subarray(0, cut), data.subarray(cut)]);
      assert.deepEqual(messages(events), [first], `cut at ${cut}`);
      assert.equal(discarded(events), 'MSH|half'.length, `cut at ${cut}`);
    }
  });

  it('emits an empty payload for an empty frame', () => {
    assert.deepEqual(run(big(), [Buffer.from([SB, EB, CR])]), ['m:']);
  });

  it('accepts a frame of exactly maxMessageBytes', () => {
    const f = new MllpFramer({ maxMessageBytes: 10 });
    assert.deepEqual(run(f, [frame('0123456789')]), ['m:0123456789']);
  });

  it('reports an oversize frame once, skips it to its end block, then reads the next frame', () => {
    const payload = 'x'.repeat(100);
    const data = Buffer.concat([frame(payload), frame('ok')]);
    for (let cut = 0; cut <= data.length; cut++) {
      const f = new MllpFramer({ maxMessageBytes: 10 });
      const events = run(f, [data.subarray(0, cut), data.subarray(cut)]);
      const oversize = events.filter((e) => e.startsWith('o:'));
      assert.equal(oversize.length, 1, `cut at ${cut}`);
      assert.ok(Number(oversize[0].slice(2)) > 10);
      assert.deepEqual(messages(events), ['ok'], `cut at ${cut}`);
    }
  });

  it('does not buffer an oversize frame: memory stays bounded while it streams in', () => {
    const f = new MllpFramer({ maxMessageBytes: 1000 });
    const head = `MSH|^~\\&|BIG|${'y'.repeat(OVERSIZE_HEAD_BYTES)}`;
    const events: FramerEvent[] = [...f.push(Buffer.concat([Buffer.from([SB]), Buffer.from(head)]))];
    for (let k = 0; k < 100; k++) {
      events.push(...f.push(Buffer.alloc(64 * 1024, 0x41)));
      assert.equal(f.bufferedBytes, 0);
    }
    events.push(...f.push(Buffer.from([EB, CR])));
    events.push(...f.push(frame('after')));
    const over = events.filter((e) => e.type === 'oversize');
    assert.equal(over.length, 1);
    const e = over[0] as Extract<FramerEvent, { type: 'oversize' }>;
    assert.equal(e.head.length, Math.min(OVERSIZE_HEAD_BYTES, e.bytes));
    assert.ok(e.head.toString('latin1').startsWith('MSH|^~\\&|BIG|'));
    assert.deepEqual(
      events.filter((x) => x.type === 'message').map((x) => (x as { payload: Buffer }).payload.toString()),
      ['after'],
    );
  });

  it('ends an oversize skip early at a new start block', () => {
    const f = new MllpFramer({ maxMessageBytes: 4 });
    const events = run(f, [Buffer.concat([Buffer.from([SB]), Buffer.from('toolong')]), Buffer.concat([Buffer.from('more'), frame('ok')])]);
    assert.deepEqual(messages(events), ['ok']);
    assert.equal(events.filter((e) => e.startsWith('o:')).length, 1);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new MllpFramer({ maxMessageBytes: 0 }), RangeError);
  });

  it('frames strings as UTF-8 and Buffers as they are', () => {
    assert.deepEqual([...frame('é')], [SB, 0xc3, 0xa9, EB, CR]);
    assert.deepEqual([...frame(Buffer.from([1, 2]))], [SB, 1, 2, EB, CR]);
    assert.deepEqual([...frame('')], [SB, EB, CR]);
  });
});
