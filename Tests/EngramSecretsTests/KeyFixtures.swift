import Foundation

/// Structurally valid key material built at run time (random numbers in real DER / OpenSSH
/// layouts), so the detector is tested on what real keys look like while no committed file holds
/// a key or a literal armour line. The numbers are not valid keys mathematically; the scanner
/// looks at structure only.
extension Fixtures {
    // MARK: DER

    static func derLength(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        if n < 0x100 { return [0x81, UInt8(n)] }
        return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
    }

    static func der(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + derLength(content.count) + content }
    static func seq(_ parts: [UInt8]...) -> [UInt8] { der(0x30, parts.flatMap { $0 }) }

    /// Positive INTEGER of `bytes` random bytes with the top bit set (so DER adds a 00 byte).
    mutating func bigInt(_ bytes: Int) -> [UInt8] {
        var v = self.bytes(bytes)
        v[0] |= 0x80
        return Fixtures.der(0x02, [0] + v)
    }

    static let intZero: [UInt8] = [0x02, 0x01, 0x00]
    static let intOne: [UInt8] = [0x02, 0x01, 0x01]
    static let oidRSA: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    static let oidECPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    static let oidP256: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    static let oidSHA256RSA: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]
    static let derNull: [UInt8] = [0x05, 0x00]
    static let exponent65537: [UInt8] = [0x02, 0x03, 0x01, 0x00, 0x01]

    /// PKCS#1 RSAPrivateKey: version 0, n, e, d, p, q, dp, dq, qinv (sizes of an RSA key of `bits`).
    mutating func rsaPKCS1(bits: Int = 2048) -> [UInt8] {
        let n = bits / 8
        let h = n / 2
        return Fixtures.seq(Fixtures.intZero, bigInt(n), Fixtures.exponent65537, bigInt(n), bigInt(h), bigInt(h), bigInt(h), bigInt(h), bigInt(h))
    }

    /// PKCS#8 PrivateKeyInfo wrapping a PKCS#1 RSA key.
    mutating func rsaPKCS8(bits: Int = 2048) -> [UInt8] {
        Fixtures.seq(Fixtures.intZero, Fixtures.seq(Fixtures.oidRSA, Fixtures.derNull), Fixtures.der(0x04, rsaPKCS1(bits: bits)))
    }

    mutating func ecPoint() -> [UInt8] { [0x04] + bytes(64) }

    /// SEC1 ECPrivateKey (P-256): version 1, d, [0] curve, [1] public point.
    mutating func sec1() -> [UInt8] {
        Fixtures.seq(
            Fixtures.intOne,
            Fixtures.der(0x04, bytes(32)),
            Fixtures.der(0xA0, Fixtures.oidP256),
            Fixtures.der(0xA1, Fixtures.der(0x03, [0] + ecPoint()))
        )
    }

    /// PKCS#8 wrapping an EC P-256 key.
    mutating func ecPKCS8() -> [UInt8] {
        let inner = Fixtures.seq(Fixtures.intOne, Fixtures.der(0x04, bytes(32)), Fixtures.der(0xA1, Fixtures.der(0x03, [0] + ecPoint())))
        return Fixtures.seq(Fixtures.intZero, Fixtures.seq(Fixtures.oidECPublicKey, Fixtures.oidP256), Fixtures.der(0x04, inner))
    }

    /// SubjectPublicKeyInfo of an RSA key (public: must stay allowed).
    mutating func rsaSPKI(bits: Int = 2048) -> [UInt8] {
        let pub = Fixtures.seq(bigInt(bits / 8), Fixtures.exponent65537)
        return Fixtures.seq(Fixtures.seq(Fixtures.oidRSA, Fixtures.derNull), Fixtures.der(0x03, [0] + pub))
    }

    /// A self-signed-looking X.509 certificate (public: must stay allowed).
    mutating func certificate() -> [UInt8] {
        func name(_ cn: String) -> [UInt8] {
            Fixtures.seq(Fixtures.der(0x31, Fixtures.seq([0x06, 0x03, 0x55, 0x04, 0x03], Fixtures.der(0x0C, Array(cn.utf8)))))
        }
        let validity = Fixtures.seq(Fixtures.der(0x17, Array("240101000000Z".utf8)), Fixtures.der(0x17, Array("340101000000Z".utf8)))
        let algo = Fixtures.seq(Fixtures.oidSHA256RSA, Fixtures.derNull)
        let tbs = Fixtures.seq(
            Fixtures.der(0xA0, [0x02, 0x01, 0x02]),
            Fixtures.der(0x02, [0x01] + bytes(15)),
            algo,
            name("memoryd test CA"),
            validity,
            name("api.memoryd.test"),
            rsaSPKI()
        )
        return Fixtures.seq(tbs, algo, Fixtures.der(0x03, [0] + bytes(256)))
    }

    // MARK: OpenSSH

    static func sshString(_ b: [UInt8]) -> [UInt8] {
        let n = b.count
        return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + b
    }
    static func sshString(_ s: String) -> [UInt8] { sshString(Array(s.utf8)) }
    static let ed25519Name = "ssh-" + "ed25519"

    /// `openssh-key-v1` file with cipher `none` and one Ed25519 key.
    mutating func opensshEd25519(comment: String = "deploy@ci") -> [UInt8] {
        let pub = bytes(32)
        let seed = bytes(32)
        let pubBlob = Fixtures.sshString(Fixtures.ed25519Name) + Fixtures.sshString(pub)
        let check = bytes(4)
        var priv =
            check + check + Fixtures.sshString(Fixtures.ed25519Name) + Fixtures.sshString(pub)
            + Fixtures.sshString(seed + pub) + Fixtures.sshString(comment)
        var pad: UInt8 = 1
        while priv.count % 8 != 0 {
            priv.append(pad)
            pad += 1
        }
        return Array("openssh-key-v1".utf8) + [0] + Fixtures.sshString("none") + Fixtures.sshString("none") + Fixtures.sshString([UInt8]())
            + [0, 0, 0, 1] + Fixtures.sshString(pubBlob) + Fixtures.sshString(priv)
    }

    /// `ssh-ed25519 AAAA… comment` public key line built from a real blob.
    mutating func sshEd25519Public() -> String {
        let blob = Fixtures.sshString(Fixtures.ed25519Name) + Fixtures.sshString(bytes(32))
        return Fixtures.ed25519Name + " " + Data(blob).base64EncodedString() + " deploy@ci"
    }

    // MARK: text forms

    /// Base64 wrapped at `width` columns (64 for PEM, 70 for OpenSSH).
    static func wrapped(_ der: [UInt8], width: Int = 64) -> [String] {
        let s = Array(Data(der).base64EncodedString())
        return stride(from: 0, to: s.count, by: width).map { String(s[$0..<min(s.count, $0 + width)]) }
    }

    /// Armour line; `dashes`, `inner` spacing and case configurable so no literal header is committed.
    static func armour(_ word: String, _ label: String, dashes: Int = 5, inner: String = "") -> String {
        let d = String(repeating: "-", count: dashes)
        return d + inner + word + " " + label + inner + d
    }
}
