#!/usr/bin/python3
"""parquet_write.py: a small Parquet writer written from the format specification (parquet.thrift,
Encodings.md, the Thrift compact protocol and the Snappy format), independent of src/data/parquet.c.
It makes the test files for tests/test_parquet.c, since no Parquet writer is packaged here.

    parquet_write.py [options] IN.jsonl OUT.parquet
      --schema name:type[:opt],...   type: string, int32, int64, float, double, bool;
                                     :opt makes the column optional (nulls allowed)
      --codec none|snappy|gzip|zstd  page compression (zstd through the `zstd` command)
      --page-version 1|2             data page v1 (levels compressed with the values) or v2
      --dict name,...                columns written with a dictionary page + RLE_DICTIONARY indices
      --group-rows N                 rows per row group (default: all)
      --page-rows N                  rows per data page (default: all of the row group)
      --nested                       add a nested group column "meta" {optional int32 a} (all null)
Rows come from IN.jsonl (one JSON object per line; a missing key is a null).
"""
import argparse, gzip, json, struct, subprocess, sys

# ---- Thrift compact protocol ----
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY, T_LIST, T_SET, T_MAP, T_STRUCT = range(1, 13)


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def enc_value(t, v):
    if t in (T_I16, T_I32, T_I64):
        return uvarint(zigzag(v) & 0xFFFFFFFFFFFFFFFF)
    if t == T_BINARY:
        b = v.encode() if isinstance(v, str) else v
        return uvarint(len(b)) + b
    if t == T_DOUBLE:
        return struct.pack("<d", v)
    if t == T_STRUCT:
        return enc_struct(v)
    if t == T_LIST:
        et, items = v
        head = bytes([(len(items) << 4) | et]) if len(items) < 15 else bytes([0xF0 | et]) + uvarint(len(items))
        return head + b"".join(enc_value(et, x) for x in items)
    raise ValueError(t)


def enc_struct(fields):
    """fields: list of (id, type, value); booleans as (id, 'bool', True/False)."""
    out = bytearray()
    last = 0
    for fid, t, v in fields:
        if t == "bool":
            t, v = (T_TRUE if v else T_FALSE), None
        delta = fid - last
        if 0 < delta <= 15:
            out.append((delta << 4) | t)
        else:
            out.append(t)
            out += uvarint(zigzag(fid))
        if v is not None:
            out += enc_value(t, v)
        last = fid
    out.append(0)
    return bytes(out)


# ---- Snappy (greedy matcher: literals and copies with 1-, 2- and 4-byte offsets) ----
def snappy_compress(data):
    out = bytearray(uvarint(len(data)))
    table = {}
    i, lit = 0, 0
    n = len(data)

    def literal(a, b):
        while a < b:
            m = min(b - a, 65536)
            L = m - 1
            if L < 60:
                out.append(L << 2)
            elif L < 256:
                out.extend(bytes([60 << 2, L]))
            else:
                out.extend(bytes([61 << 2]) + struct.pack("<H", L))
            out.extend(data[a:a + m])
            a += m

    def copy(off, length):
        while length > 0:
            m = min(length, 64)
            if length - m in (1, 2, 3) and m > 4:   # keep the rest long enough for a copy
                m -= 4
            if 4 <= m <= 11 and off < 2048:
                out.extend(bytes([1 | ((m - 4) << 2) | ((off >> 8) << 5), off & 0xFF]))
            elif off < 65536:
                out.extend(bytes([2 | ((m - 1) << 2)]) + struct.pack("<H", off))
            else:
                out.extend(bytes([3 | ((m - 1) << 2)]) + struct.pack("<I", off))
            length -= m

    while i + 4 <= n:
        key = bytes(data[i:i + 4])
        j = table.get(key)
        table[key] = i
        if j is not None and i - j <= 0xFFFFFFFF:
            length = 4
            while i + length < n and data[j + length] == data[i + length]:
                length += 1
            literal(lit, i)
            copy(i - j, length)
            i += length
            lit = i
        else:
            i += 1
    literal(lit, n)
    return bytes(out)


def compress(codec, data):
    if codec == "none":
        return data
    if codec == "snappy":
        return snappy_compress(data)
    if codec == "gzip":
        return gzip.compress(data)
    if codec == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
    raise ValueError(codec)


CODEC_ID = {"none": 0, "snappy": 1, "gzip": 2, "zstd": 6}
TYPE_ID = {"bool": 0, "int32": 1, "int64": 2, "float": 4, "double": 5, "string": 6}


# ---- RLE / bit-packed hybrid ----
def rle_hybrid(values, width):
    """Runs of 8+ equal values as RLE runs, the rest bit-packed in groups of 8."""
    out = bytearray()
    nbytes = (width + 7) // 8
    i, n = 0, len(values)
    pending = []

    def flush_packed():
        if not pending:
            return
        vals = pending + [0] * (-len(pending) % 8)
        out.extend(uvarint(((len(vals) // 8) << 1) | 1))
        acc, bits = 0, 0
        for v in vals:
            acc |= v << bits
            bits += width
            while bits >= 8:
                out.append(acc & 0xFF)
                acc >>= 8
                bits -= 8
        if bits:
            out.append(acc & 0xFF)
        pending.clear()

    while i < n:
        j = i
        while j < n and values[j] == values[i]:
            j += 1
        if j - i >= 8 and len(pending) % 8 == 0:
            flush_packed()
            out.extend(uvarint((j - i) << 1))
            out.extend(values[i].to_bytes(nbytes, "little") if nbytes else b"")
            i = j
        else:
            pending.append(values[i])
            i += 1
            if len(pending) >= 64:
                flush_packed()
    # a bit-packed run may only be padded at the very end of the data
    flush_packed()
    return bytes(out)


def plain(typ, values):
    if typ == "bool":
        out = bytearray((len(values) + 7) // 8)
        for k, v in enumerate(values):
            if v:
                out[k >> 3] |= 1 << (k & 7)
        return bytes(out)
    fmt = {"int32": "<i", "int64": "<q", "float": "<f", "double": "<d"}.get(typ)
    if fmt:
        return b"".join(struct.pack(fmt, v) for v in values)
    out = bytearray()
    for v in values:
        b = v.encode("utf-8", "surrogatepass")
        out += struct.pack("<I", len(b)) + b
    return bytes(out)


def page_header(ptype, usize, csize, sub_id, sub):
    return enc_struct([(1, T_I32, ptype), (2, T_I32, usize), (3, T_I32, csize), (sub_id, T_STRUCT, sub)])


def write_chunk(f, col, values, opts, width_def=1, max_def=1):
    """Writes one column chunk; returns its ColumnMetaData fields."""
    name, typ, optional = col
    start = f.tell()
    dict_off = None
    use_dict = name in opts.dict
    dictionary, index = [], {}
    if use_dict:
        for v in values:
            if v is not None and v not in index:
                index[v] = len(dictionary)
                dictionary.append(v)
        body = plain(typ, dictionary)
        comp = compress(opts.codec, body)
        dict_off = start
        f.write(page_header(2, len(body), len(comp), 7, [(1, T_I32, len(dictionary)), (2, T_I32, 2)]))
        f.write(comp)
    data_off = f.tell()
    step = opts.page_rows or max(1, len(values))
    for p0 in range(0, max(1, len(values)), step):
        vals = values[p0:p0 + step]
        present = [v for v in vals if v is not None]
        defs = b""
        if optional:
            levels = [max_def if v is not None else 0 for v in vals]
            defs = rle_hybrid(levels, width_def)
        if use_dict:
            idx = [index[v] for v in present]
            width = max(1, (len(dictionary) - 1).bit_length())
            vbody = bytes([width]) + rle_hybrid(idx, width)
            enc = 2 if opts.page_version == 1 else 8
        else:
            vbody = plain(typ, present)
            enc = 0
        if opts.page_version == 1:
            body = (struct.pack("<I", len(defs)) + defs if optional else b"") + vbody
            comp = compress(opts.codec, body)
            f.write(page_header(0, len(body), len(comp), 5,
                                [(1, T_I32, len(vals)), (2, T_I32, enc), (3, T_I32, 3), (4, T_I32, 3)]))
            f.write(comp)
        else:
            comp = compress(opts.codec, vbody)
            sub = [(1, T_I32, len(vals)), (2, T_I32, len(vals) - len(present)), (3, T_I32, len(vals)), (4, T_I32, enc),
                   (5, T_I32, len(defs)), (6, T_I32, 0), (7, "bool", opts.codec != "none")]
            f.write(page_header(3, len(defs) + len(vbody), len(defs) + len(comp), 8, sub))
            f.write(defs + comp)
    end = f.tell()
    meta = [(1, T_I32, TYPE_ID[typ]), (2, T_LIST, (T_I32, [0, 3] + ([2, 8] if use_dict else []))),
            (3, T_LIST, (T_BINARY, [name])), (4, T_I32, CODEC_ID[opts.codec]), (5, T_I64, len(values)),
            (6, T_I64, end - start), (7, T_I64, end - start), (9, T_I64, data_off)]
    if dict_off is not None:
        meta.append((11, T_I64, dict_off))
    meta.append((12, T_STRUCT, [(5, T_BINARY, b"max"), (6, T_BINARY, b"min")]))   # statistics: skipped by readers
    return start, meta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--codec", default="none", choices=sorted(CODEC_ID))
    ap.add_argument("--page-version", type=int, default=1, choices=[1, 2])
    ap.add_argument("--dict", default="")
    ap.add_argument("--group-rows", type=int, default=0)
    ap.add_argument("--page-rows", type=int, default=0)
    ap.add_argument("--nested", action="store_true")
    ap.add_argument("inp")
    ap.add_argument("out")
    opts = ap.parse_args()
    opts.dict = set(x for x in opts.dict.split(",") if x)
    cols = []
    for spec in opts.schema.split(","):
        parts = spec.split(":")
        cols.append((parts[0], parts[1], len(parts) > 2 and parts[2] == "opt"))
    rows = [json.loads(line) for line in open(opts.inp, encoding="utf-8", errors="surrogatepass") if line.strip()]
    gsize = opts.group_rows or max(1, len(rows))
    schema = [[(4, T_BINARY, "schema"), (5, T_I32, len(cols) + (1 if opts.nested else 0))]]
    for name, typ, optional in cols:
        el = [(1, T_I32, TYPE_ID[typ]), (3, T_I32, 1 if optional else 0), (4, T_BINARY, name)]
        if typ == "string":
            el.append((6, T_I32, 0))   # converted_type UTF8
        schema.append(el)
    if opts.nested:
        schema.append([(3, T_I32, 1), (4, T_BINARY, "meta"), (5, T_I32, 1)])
        schema.append([(1, T_I32, 1), (3, T_I32, 1), (4, T_BINARY, "a")])
    groups = []
    with open(opts.out, "wb") as f:
        f.write(b"PAR1")
        for g0 in range(0, len(rows), gsize):
            grows = rows[g0:g0 + gsize]
            chunks = []
            for col in cols:
                vals = [r.get(col[0]) for r in grows]
                if col[1] in ("float", "double", "int32", "int64"):
                    vals = [None if v is None else (float(v) if col[1] in ("float", "double") else int(v)) for v in vals]
                start, meta = write_chunk(f, col, vals, opts)
                chunks.append([(2, T_I64, start), (3, T_STRUCT, meta)])
            if opts.nested:
                start, meta = write_chunk(f, ("a", "int32", True), [None] * len(grows), opts, width_def=2, max_def=2)
                meta[2] = (3, T_LIST, (T_BINARY, ["meta", "a"]))
                chunks.append([(2, T_I64, start), (3, T_STRUCT, meta)])
            groups.append([(1, T_LIST, (T_STRUCT, chunks)), (2, T_I64, 0), (3, T_I64, len(grows))])
        footer = enc_struct([(1, T_I32, 1), (2, T_LIST, (T_STRUCT, schema)), (3, T_I64, len(rows)),
                             (4, T_LIST, (T_STRUCT, groups)),
                             (5, T_LIST, (T_STRUCT, [[(1, T_BINARY, "writer"), (2, T_BINARY, "parquet_write.py")]])),
                             (6, T_BINARY, "parquet_write.py"), (40, T_I32, 7)])   # field 40: unknown, skipped
        f.write(footer + struct.pack("<I", len(footer)) + b"PAR1")


if __name__ == "__main__":
    main()
