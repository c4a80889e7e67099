// Writes fixtures.json: texts and the GPT-2 token ids that the npm package
// gpt-3-encoder (an independent JavaScript port of GPT-2's encoder) gives them.
//
//   mkdir /tmp/enc && cd /tmp/enc && npm install --ignore-scripts gpt-3-encoder@1.1.4
//   NODE_PATH=/tmp/enc/node_modules node tests/data/tokenizer/gen_fixtures.js
//
// Texts are stored as hex bytes. For invalid UTF-8, which a JavaScript string
// cannot hold, each byte that does not begin a well-formed sequence (as Node's
// strict TextDecoder judges) is carried through the package's own pattern and
// BPE as a lone surrogate standing for that raw byte: the behaviour attn
// defines (an invalid byte is a symbol character, encoded as the byte it is).
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const pkg = path.dirname(require.resolve('gpt-3-encoder/package.json'));
// The package exports only encode/decode; expose its pattern, byte map and bpe.
const source = fs.readFileSync(path.join(pkg, 'Encoder.js'), 'utf-8') +
  '\nmodule.exports.pat = pat; module.exports.bpe = bpe;' +
  ' module.exports.byte_encoder = byte_encoder; module.exports.encoder = encoder;\n';
const mod = { exports: {} };
vm.runInThisContext(require('module').wrap(source))(mod.exports, require, mod, path.join(pkg, 'Encoder.js'), pkg);
const enc = mod.exports;

const strict = new TextDecoder('utf-8', { fatal: true });
// Bytes -> a JS string where each invalid byte b is the lone surrogate U+DC00+b.
function toJs(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length;) {
    let n = 0;
    for (let k = 1; k <= 4 && i + k <= bytes.length && !n; ++k) {
      try {
        const t = strict.decode(bytes.subarray(i, i + k));
        if ([...t].length === 1) n = k;
      } catch (e) { /* not a whole sequence yet */ }
    }
    if (n) { s += strict.decode(bytes.subarray(i, i + n)); i += n; }
    else { s += String.fromCharCode(0xDC00 + bytes[i]); i += 1; }
  }
  return s;
}
function pieceBytes(piece) {
  const out = [];
  for (const ch of piece) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xDC00 && c <= 0xDCFF) out.push(c - 0xDC00);
    else out.push(...Buffer.from(ch, 'utf-8'));
  }
  return out;
}
function encodeBytes(bytes) {
  const ids = [];
  for (const m of toJs(bytes).matchAll(enc.pat)) {
    const word = pieceBytes(m[0]).map(b => enc.byte_encoder[b]).join('');
    for (const t of enc.bpe(word).split(' ')) ids.push(enc.encoder[t]);
  }
  return ids;
}

const texts = [
  ['english', 'The quick brown fox jumps over the lazy dog.'],
  ['contractions', "I'm sure you're right: it's what we'll do, they've said, and she'd agree. Don't! Can't?"],
  ['contraction case', "I'M SURE YOU'RE RIGHT, IT'S O'NEIL'S 'S ''S"],
  ['whitespace runs', 'a  b   c\n\n\nd \t e    \n  f\t\tg   '],
  ['leading and trailing space', '   hello world   '],
  ['only spaces', '      '],
  ['newlines', '\nline one\r\nline two\n\n\n'],
  ['accents', 'Café déjà vu, naïve façade, Ærøskøbing, Straße, İstanbul'],
  ['greek cyrillic', 'Καλημέρα κόσμε! Привет, мир! Їжак.'],
  ['cjk', '漢字とひらがなとカタカナ、한국어 텍스트입니다。'],
  ['combining marks', 'e\u0301 a\u0300 n\u0303 देवनागरी हिन्दी'],
  ['arabic hebrew', 'مرحبا بالعالم שלום עולם'],
  ['numbers', '123 4567890 3.14159 1,000,000 ٣٤٥ ⅻ ² ½ 2024-12-01'],
  ['emoji', 'Nice 👍🏽 job! 👨‍👩‍👧‍👦 family 🇫🇷🇩🇪 flags 🤖🚀✨'],
  ['symbols', '#include <stdio.h> int main() { return x->y[0] && !z || a != b; } // ok @@ $$$ %%%'],
  ['mixed', 'Price: $19.99 (€17,50) — “quoted” ‘text’ … and… more!!!'],
  ['code', 'def f(x):\n    return x ** 2  # square\n\tprint(f"{x=}")\n'],
  ['fortune', 'A day without sunshine is like, you know, night.\n\t\t-- Steve Martin\n'],
  ['long word', 'Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism'],
  ['repeated', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ababababababababab ........'],
  ['control chars', 'bell\x07 escape\x1b[31m red\x1b[0m nul\x00 del\x7f'],
  ['nbsp and unicode spaces', 'a\u00a0b\u2003c\u3000d\u2028e'],
  ['endoftext literal', 'before<|endoftext|>after'],
];
const byteTexts = [
  ['invalid: lone continuation', Buffer.from([0x61, 0x80, 0x62, 0x20, 0xBF, 0xBF, 0x20, 0x63])],
  ['invalid: truncated sequences', Buffer.concat([Buffer.from('x '), Buffer.from([0xE2, 0x82]), Buffer.from(' y '), Buffer.from([0xF0, 0x9F, 0x98])])],
  ['invalid: overlong and surrogate', Buffer.from([0xC0, 0xAF, 0x20, 0xED, 0xA0, 0x80, 0x41, 0xF5, 0x20, 0xF4, 0x90, 0x80, 0x80])],
  ['invalid: inside a word', Buffer.concat([Buffer.from('hel'), Buffer.from([0xFF]), Buffer.from('lo wor'), Buffer.from([0xC3]), Buffer.from('ld')])],
  ['invalid: all high bytes', Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i))],
];

const out = [];
for (const [name, text] of texts) {
  const bytes = Buffer.from(text, 'utf-8');
  const ids = enc.encode(text);
  const again = encodeBytes(bytes);
  if (JSON.stringify(ids) !== JSON.stringify(again)) throw new Error('the two paths disagree on ' + name);
  if (enc.decode(ids) !== text) throw new Error('decode does not give back ' + name);
  out.push({ name, hex: bytes.toString('hex'), ids });
}
for (const [name, bytes] of byteTexts) out.push({ name, hex: bytes.toString('hex'), ids: encodeBytes(bytes) });
const file = path.join(__dirname, 'fixtures.json');
fs.writeFileSync(file, '[\n' + out.map(o => JSON.stringify(o)).join(',\n') + '\n]\n');
console.log('wrote ' + out.length + ' fixtures to ' + file);
