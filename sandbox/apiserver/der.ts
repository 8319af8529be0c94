// The few ASN.1 DER encodings an X.509 certificate needs (X.690): tag, length, value. Only what
// sandbox/apiserver/pki.ts writes; nothing here parses. Node's crypto signs; Go (kubectl) and
// OpenSSL (Node's TLS) parse the result strictly, which is what the sandbox's TLS tests check.

/** One TLV: `tag` byte, DER length, then the content. */
export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length
  let length: Buffer
  if (n < 0x80) length = Buffer.from([n])
  else {
    const bytes: number[] = []
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
    length = Buffer.from([0x80 | bytes.length, ...bytes])
  }
  return Buffer.concat([Buffer.from([tag]), length, content])
}

export const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items))
export const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items))
export const octetString = (b: Buffer) => tlv(0x04, b)
export const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
export const boolean = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]))
/** A context-specific tag: constructed ([n] EXPLICIT) or primitive ([n] IMPLICIT of a primitive). */
export const explicit = (n: number, content: Buffer) => tlv(0xa0 | n, content)
export const implicit = (n: number, content: Buffer) => tlv(0x80 | n, content)

/** A non-negative INTEGER from its big-endian bytes (a leading 0 keeps a high first bit positive). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1]! < 0x80) start++
  const body = bytes.subarray(start)
  return tlv(0x02, body[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body)
}

export const smallInteger = (n: number) => unsignedInteger(Buffer.from([n]))

/** BIT STRING of whole bytes (0 unused bits), e.g. a signature or a key. */
export const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]))

/** BIT STRING of named bits (bit 0 is the most significant bit of the first byte), DER-trimmed. */
export function namedBits(bits: number[]): Buffer {
  const last = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1)
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> b % 8
  const unused = 7 - (last % 8)
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]))
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number)
  const out: number[] = [40 * arcs[0]! + arcs[1]!]
  for (const arc of arcs.slice(2)) {
    const groups: number[] = []
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f)
      if (v < 128) break
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)))
  }
  return tlv(0x06, Buffer.from(out))
}

/** UTCTime (years 1950-2049) or GeneralizedTime, to the second, in UTC, as RFC 5280 requires. */
export function time(d: Date): Buffer {
  const iso = d.toISOString() // 2026-11-24T23:53:30.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z' // 20261124235330Z
  const year = d.getUTCFullYear()
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'))
}
