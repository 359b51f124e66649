/**
 * Protobuf wire-format output built as a list of byte pieces (protobuf.dev/programming-guides/encoding): nested
 * messages are built first and prefixed with their length, and unchanged fields are referenced from the input buffer,
 * not copied, until the whole model is streamed to disk.
 */
export class ProtoOut {
  readonly pieces: Uint8Array[] = [];
  length = 0;
  private small: number[] = [];

  private flushSmall(): void {
    if (!this.small.length) return;
    this.pieces.push(Uint8Array.from(this.small));
    this.small = [];
  }

  private byte(b: number): void {
    this.small.push(b);
    this.length++;
  }

  /** An unsigned varint, or a negative int64 as its 10-byte two's complement. */
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.byte(b);
    } while (x > 0n);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v, 0);
    this.tag(field, 5);
    return this.raw(b);
  }

  /** Appends bytes as they are (already-encoded fields). */
  raw(b: Uint8Array): this {
    if (b.length < 16) {
      for (const x of b) this.byte(x);
      return this;
    }
    this.flushSmall();
    this.pieces.push(b);
    this.length += b.length;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    return this.tag(field, 2).varint(b.length).raw(b);
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** A length-delimited field holding another message. */
  message(field: number, child: ProtoOut): this {
    child.flushSmall();
    this.tag(field, 2).varint(child.length);
    this.flushSmall();
    for (const p of child.pieces) this.pieces.push(p);
    this.length += child.length;
    return this;
  }

  /** Appends another output's fields as they are (no tag, no length). */
  append(child: ProtoOut): this {
    child.flushSmall();
    this.flushSmall();
    for (const p of child.pieces) this.pieces.push(p);
    this.length += child.length;
    return this;
  }

  /** Packed repeated varints. */
  packedVarints(field: number, values: readonly number[]): this {
    const inner = new ProtoOut();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  packedFloats(field: number, values: readonly number[]): this {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return this.bytes(field, b);
  }

  finish(): Uint8Array[] {
    this.flushSmall();
    return this.pieces;
  }
}
