// The sandbox's certificates, made fresh at every start as k3s makes its own: a CA, a serving
// certificate for 127.0.0.1/localhost/::1, and an admin client certificate (O=system:masters), all
// EC P-256 (key generation and signing take about a millisecond each; RSA would take far longer).
// Keys come from node:crypto, certificates are encoded by der.ts and signed with ECDSA-SHA256.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import * as der from './der.ts'

export interface KeyPairPem {
  certPem: string
  keyPem: string
}

export interface Pki {
  caPem: string
  /** The API server's serving certificate and key. */
  server: KeyPairPem
  /** The kubeconfig's admin user (CN sandbox-admin, O system:masters). */
  client: KeyPairPem
}

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
}

// keyUsage bits (RFC 5280 4.2.1.3)
const DIGITAL_SIGNATURE = 0
const KEY_CERT_SIGN = 5
const CRL_SIGN = 6

const HOUR = 3_600_000
const DAY = 24 * HOUR

interface Identity {
  commonName: string
  organization?: string
}

interface Issued {
  der: Buffer
  key: KeyObject
  name: Buffer
  keyId: Buffer
}

const pem = (label: string, body: Buffer) => `-----BEGIN ${label}-----\n${body.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`

function distinguishedName(id: Identity): Buffer {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.oid(type), der.utf8String(value)))
  return der.sequence(...(id.organization ? [rdn(OID.organization, id.organization)] : []), rdn(OID.commonName, id.commonName))
}

const extension = (id: string, critical: boolean, value: Buffer) => der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value))

/** The SAN entries: DNS names as [2] IA5String, IP addresses as [7] OCTET STRING. */
function subjectAltNames(dns: string[], ips: Buffer[]): Buffer {
  return der.sequence(...dns.map((d) => der.implicit(2, Buffer.from(d, 'ascii'))), ...ips.map((ip) => der.implicit(7, ip)))
}

function issue(opts: {
  subject: Identity
  issuer?: Issued
  ca: boolean
  usage: 'server' | 'client' | 'ca'
  validDays: number
  now: Date
}): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  // The key identifier: SHA-1 of the public key's bits (RFC 5280 4.2.1.2, method 1); for EC keys
  // the bits are the last 65 bytes of the SPKI (the uncompressed point).
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest()
  const name = distinguishedName(opts.subject)
  const issuerName = opts.issuer?.name ?? name
  const serial = randomBytes(16)
  serial[0] = (serial[0]! & 0x7f) | 0x40 // positive and 16 bytes long
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256))
  const extensions = [
    extension(OID.basicConstraints, true, der.sequence(...(opts.ca ? [der.boolean(true)] : []))),
    extension(OID.keyUsage, true, der.namedBits(opts.ca ? [DIGITAL_SIGNATURE, KEY_CERT_SIGN, CRL_SIGN] : [DIGITAL_SIGNATURE])),
    ...(opts.usage === 'ca' ? [] : [extension(OID.extKeyUsage, false, der.sequence(der.oid(opts.usage === 'server' ? OID.serverAuth : OID.clientAuth)))]),
    ...(opts.usage === 'server' ? [extension(OID.subjectAltName, false, subjectAltNames(['localhost'], [Buffer.from([127, 0, 0, 1]), Buffer.from('00000000000000000000000000000001', 'hex')]))] : []),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
    ...(opts.issuer ? [extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, opts.issuer.keyId)))] : []),
  ]
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    algorithm,
    issuerName,
    // an hour back, so a client whose clock is a little behind still accepts it
    der.sequence(der.time(new Date(opts.now.getTime() - HOUR)), der.time(new Date(opts.now.getTime() + opts.validDays * DAY))),
    name,
    spki,
    der.explicit(3, der.sequence(...extensions)),
  )
  const signature = sign('sha256', tbs, { key: opts.issuer?.key ?? privateKey, dsaEncoding: 'der' })
  return { der: der.sequence(tbs, algorithm, der.bitString(signature)), key: privateKey, name, keyId }
}

const keyPairPem = (c: Issued): KeyPairPem => ({ certPem: pem('CERTIFICATE', c.der), keyPem: c.key.export({ type: 'sec1', format: 'pem' }).toString() })

/**
 * A new CA with a serving and an admin client certificate (k3s's lifetimes: CA 10 years, leaves 1
 * year). `clientIssuedAt` dates the client certificate back, as in a k3s.yaml copied long ago.
 */
export function createPki(now = new Date(), opts: { clientIssuedAt?: Date } = {}): Pki {
  const ca = issue({ subject: { commonName: `sandbox-ca@${Math.floor(now.getTime() / 1000)}` }, ca: true, usage: 'ca', validDays: 3650, now })
  const server = issue({ subject: { commonName: 'sandbox-apiserver' }, issuer: ca, ca: false, usage: 'server', validDays: 365, now })
  const client = issue({ subject: { commonName: 'sandbox-admin', organization: 'system:masters' }, issuer: ca, ca: false, usage: 'client', validDays: 365, now: opts.clientIssuedAt ?? now })
  return { caPem: pem('CERTIFICATE', ca.der), server: keyPairPem(server), client: keyPairPem(client) }
}
