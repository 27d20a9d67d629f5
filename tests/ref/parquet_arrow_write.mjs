// parquet_arrow_write.mjs: makes the Parquet fixtures in tests/data/parquet/ with a real
// third-party writer, Apache Arrow's Rust implementation (the npm package parquet-wasm 0.8.0,
// with apache-arrow for the tables), and writes the rows it was given as rows.jsonl, the
// expected output of our reader (tests/test_parquet.c). Rerun only to remake the fixtures:
//   cd /tmp/pqw && npm install parquet-wasm@0.8.0 apache-arrow
//   node --experimental-default-type=module /path/to/parquet_arrow_write.mjs OUTDIR
import { createRequire } from "module";
import fs from "fs";
const require = createRequire(process.cwd() + "/");
const arrow = require("apache-arrow");
const pw = require("parquet-wasm/node");

let state = 12345n;
function rnd() {   // 64-bit LCG, top bits
  state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
  return Number(state >> 33n);
}
const pieces = ["the", " ", "war", "\"", "\\", "\n", "\t", "\u0001", "café", "€", "😀", "peace", ",", "Prince", "ab", "\u007f"];
const N = 500;
const rows = [];
for (let i = 0; i < N; i++) {
  let text = "";
  const len = i === 3 ? 3000 : rnd() % 30;
  for (let k = 0; k < len; k++) text += pieces[rnd() % pieces.length];
  rows.push({
    text: rnd() % 6 === 0 ? null : text,
    cat: "cat" + (rnd() % 4),
    id: i * 1000003 - 250000000,
    n: rnd() % 5 === 0 ? null : (rnd() % 200000) - 100000,
    score: (rnd() % 2000000) / 1024 - 900,
    f32: Math.fround(((rnd() % 100000) - 50000) / 7),
    flag: rnd() % 7 === 0 ? null : rnd() % 2 === 1,
  });
}
const table = arrow.tableFromArrays({
  text: arrow.vectorFromArray(rows.map(r => r.text), new arrow.Utf8()),
  cat: arrow.vectorFromArray(rows.map(r => r.cat), new arrow.Utf8()),
  id: arrow.vectorFromArray(rows.map(r => BigInt(r.id)), new arrow.Int64()),
  n: arrow.vectorFromArray(rows.map(r => r.n), new arrow.Int32()),
  score: arrow.vectorFromArray(rows.map(r => r.score), new arrow.Float64()),
  f32: arrow.vectorFromArray(rows.map(r => r.f32), new arrow.Float32()),
  flag: arrow.vectorFromArray(rows.map(r => r.flag), new arrow.Bool()),
});
const ipc = arrow.tableToIPC(table, "stream");
const out = process.argv[2];
const variants = [
  ["arrow_snappy_v1_dict.parquet", pw.Compression.SNAPPY, pw.WriterVersion.V1, true],
  ["arrow_zstd_v2_dict.parquet", pw.Compression.ZSTD, pw.WriterVersion.V2, true],
  ["arrow_gzip_v1_plain.parquet", pw.Compression.GZIP, pw.WriterVersion.V1, false],
  ["arrow_none_v1_dict.parquet", pw.Compression.UNCOMPRESSED, pw.WriterVersion.V1, true],
  // no dictionary with data page v2: arrow-rs falls back to DELTA_BINARY_PACKED and DELTA_BYTE_ARRAY
  ["arrow_zstd_v2_delta.parquet", pw.Compression.ZSTD, pw.WriterVersion.V2, false],
  // each DELTA encoding chosen per column
  ["arrow_snappy_v1_delta.parquet", pw.Compression.SNAPPY, pw.WriterVersion.V1, false, {
    text: pw.Encoding.DELTA_LENGTH_BYTE_ARRAY, cat: pw.Encoding.DELTA_BYTE_ARRAY,
    id: pw.Encoding.DELTA_BINARY_PACKED, n: pw.Encoding.DELTA_BINARY_PACKED }],
];
for (const [name, codec, version, dict, encodings] of variants) {
  let b = new pw.WriterPropertiesBuilder()
    .setCompression(codec).setWriterVersion(version).setDictionaryEnabled(dict)
    .setMaxRowGroupSize(200).setDataPageSizeLimit(2048);
  for (const [col, enc] of Object.entries(encodings || {})) b = b.setColumnEncoding(col, enc);
  const props = b.build();
  fs.writeFileSync(out + "/" + name, pw.writeParquet(pw.Table.fromIPCStream(ipc), props));
}
fs.writeFileSync(out + "/rows.jsonl", rows.map(r => JSON.stringify(r)).join("\n") + "\n");
