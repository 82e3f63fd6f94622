import EngramScreening
import Foundation

@testable import EngramSecrets

/// Builds secret-shaped test fixtures at run time, so no committed file contains a literal
/// credential-shaped string (repository scanners stay quiet about this project). Random parts come
/// from a seeded generator: failures are reproducible.
struct Fixtures {
    var rng: SplitMix

    init(seed: UInt64 = 0x5EC2E7) { rng = SplitMix(seed: seed) }

    static let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    static let lower = Array("abcdefghijklmnopqrstuvwxyz")
    static let digits = Array("0123456789")
    static let alnum = upper + lower + digits
    static let hexLower = Array("0123456789abcdef")
    static let b64 = alnum + Array("+/")
    static let b64url = alnum + Array("-_")
    static let base32 = upper + Array("234567")

    mutating func random(_ n: Int, _ alphabet: [Character] = Fixtures.alnum) -> String {
        var s = ""
        s.reserveCapacity(n)
        // Guarantee a mix of classes for alphanumeric alphabets (real tokens always have one).
        for _ in 0..<n { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        return s
    }

    mutating func mixed(_ n: Int, _ alphabet: [Character] = Fixtures.alnum) -> String {
        while true {
            let s = random(n, alphabet)
            // Require every class the alphabet offers (upper, lower, digit).
            let needU = alphabet.contains(where: \.isUppercase)
            let needL = alphabet.contains(where: \.isLowercase)
            let needD = alphabet.contains(where: \.isNumber)
            let hasU = s.contains(where: \.isUppercase)
            let hasL = s.contains(where: \.isLowercase)
            let hasD = s.contains(where: \.isNumber)
            if (hasU || !needU) && (hasL || !needL) && (hasD || !needD) || n < 3 { return s }
        }
    }

    mutating func hex(_ n: Int) -> String {
        while true {
            let s = random(n, Fixtures.hexLower)
            if s.contains(where: \.isLetter) && s.contains(where: \.isNumber) { return s }
        }
    }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    mutating func base64Key(bytes n: Int) -> String { Data(bytes(n)).base64EncodedString() }

    /// GitHub-style token: prefix + 30 random base62 + base62(CRC32) (6 chars).
    mutating func githubStyle(_ prefix: String, randomLength: Int = 30, validChecksum: Bool = true) -> String {
        let body = mixed(randomLength)
        var crc = String(decoding: CRC32.base62(CRC32.checksum(Array(body.utf8))), as: UTF8.self)
        if !validChecksum { crc = String(crc.reversed()) == crc ? "zzzzzz" : String(crc.reversed()) }
        return prefix + body + crc
    }

    static let ghPrefix = "gh"
    mutating func ghp() -> String { githubStyle(Self.ghPrefix + "p_") }
    mutating func awsKeyID() -> String { "AK" + "IA" + mixedUpper(16) }
    mutating func mixedUpper(_ n: Int) -> String {
        while true {
            let s = random(n, Fixtures.base32)
            if s.contains(where: \.isNumber) && s.contains(where: \.isLetter) { return s }
        }
    }
    mutating func awsSecret() -> String { mixed(40, Fixtures.b64) }

    /// A PEM block with random body (64-char lines).
    mutating func pem(_ label: String, lines: Int = 8, newline: String = "\n") -> String {
        let dashes = String(repeating: "-", count: 5)
        var body: [String] = []
        for _ in 0..<lines { body.append(String(base64Key(bytes: 48).prefix(64))) }
        return dashes + "BEGIN " + label + dashes + newline + body.joined(separator: newline) + newline + dashes + "END " + label + dashes
    }

    static let privateLabel = "PRIV" + "ATE KEY"

    mutating func jwt(payload: String = #"{"sub":"user_42","iat":1719000000,"exp":1719003600}"#, alg: String = "HS256") -> String {
        func b64url(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return b64url(#"{"alg":"\#(alg)","typ":"JWT"}"#) + "." + b64url(payload) + "." + mixed(43, Fixtures.b64url)
    }
}

/// SplitMix64: tiny deterministic generator for fixtures.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
