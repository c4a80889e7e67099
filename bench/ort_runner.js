#!/usr/bin/env node
// ONNX Runtime side of bench/compare_peers.py: reads one JSON command per line
// on stdin and answers one JSON line on stdout.
//
//   {"cmd":"load","key":K,"path":"m.onnx","threads":T,"dtype":"float32"|"int64"}
//       -> {"ok":true,"load_ms":...,"version":"1.30.0"}
//   {"cmd":"input","key":K,"npy":"input.npy"}           (the input every run uses)
//   {"cmd":"run","key":K,"out":"out.npy"}               (one run, output saved as float32 .npy)
//   {"cmd":"bench","key":K,"warmup":W,"iters":N}        -> {"ok":true,"ms":[...]}
//   {"cmd":"release","key":K}
//   {"cmd":"quit"}
// Errors answer {"ok":false,"error":"..."}.
//
// Sessions use intraOpNumThreads = T (the thread count attn is given),
// interOpNumThreads = 1, sequential execution and all graph optimisations.
// Latency is measured around `await session.run(feeds)` with
// process.hrtime, so it includes the Node binding's per-call overhead.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf.readUInt8(6);
  const headerLen = major >= 2 ? buf.readUInt32LE(8) : buf.readUInt16LE(8);
  const start = (major >= 2 ? 12 : 10) + headerLen;
  const header = buf.toString('latin1', major >= 2 ? 12 : 10, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': Fortran order is not supported');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + count * parseInt(descr.slice(2), 10));
  const copy = Buffer.from(body);  // aligned copy
  let data;
  if (descr === '<f4') data = new Float32Array(copy.buffer, copy.byteOffset, count);
  else if (descr === '<i4') data = new Int32Array(copy.buffer, copy.byteOffset, count);
  else if (descr === '<i8') data = new BigInt64Array(copy.buffer, copy.byteOffset, count);
  else throw new Error(file + ': unsupported dtype ' + descr);
  return { data, shape };
}

function writeNpyF32(file, data, shape) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6);
  pre.writeUInt8(0, 7);
  pre.writeUInt16LE(header.length, 8);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

const sessions = new Map();  // key -> {session, dtype, feeds}

function toTensor(npy, dtype) {
  if (dtype === 'float32') return new ort.Tensor('float32', Float32Array.from(npy.data), npy.shape);
  if (dtype === 'int64') {
    const v = new BigInt64Array(npy.data.length);
    for (let i = 0; i < v.length; ++i) v[i] = BigInt(npy.data[i]);
    return new ort.Tensor('int64', v, npy.shape);
  }
  throw new Error('unsupported input dtype ' + dtype);
}

async function handle(msg) {
  switch (msg.cmd) {
    case 'load': {
      const t0 = process.hrtime.bigint();
      const session = await ort.InferenceSession.create(msg.path, {
        intraOpNumThreads: msg.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      sessions.set(msg.key, { session, dtype: msg.dtype || 'float32', feeds: null });
      return { ok: true, load_ms: Number(process.hrtime.bigint() - t0) / 1e6, version: ort.env.versions.common,
               inputs: session.inputNames, outputs: session.outputNames };
    }
    case 'input': {
      const s = sessions.get(msg.key);
      const npy = readNpy(msg.npy);
      s.feeds = { [s.session.inputNames[0]]: toTensor(npy, s.dtype) };
      return { ok: true };
    }
    case 'run': {
      const s = sessions.get(msg.key);
      const out = await s.session.run(s.feeds);
      const t = out[s.session.outputNames[0]];
      writeNpyF32(msg.out, t.data, t.dims);
      return { ok: true, shape: t.dims };
    }
    case 'bench': {
      const s = sessions.get(msg.key);
      for (let i = 0; i < (msg.warmup || 0); ++i) await s.session.run(s.feeds);
      const ms = [];
      for (let i = 0; i < msg.iters; ++i) {
        const t0 = process.hrtime.bigint();
        await s.session.run(s.feeds);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return { ok: true, ms };
    }
    case 'release': {
      const s = sessions.get(msg.key);
      if (s) {
        await s.session.release();
        sessions.delete(msg.key);
      }
      return { ok: true };
    }
    case 'quit':
      process.exit(0);
    default:
      throw new Error('unknown command ' + msg.cmd);
  }
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await handle(JSON.parse(line));
    } catch (e) {
      reply = { ok: false, error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
}

main();
