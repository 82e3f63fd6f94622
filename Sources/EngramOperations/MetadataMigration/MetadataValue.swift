package import Crypto
package import EngramPostgres
import Foundation
package import GRDB

/// One column value of a metadata row, the same whichever engine it was read from: PostgreSQL's
/// `boolean` reads as the integer 0/1 SQLite stores, an integer in a `REAL` column as a double, so a row
/// copied between the engines compares (and hashes) equal to its original.
package enum MetadataValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value of a SQLite cell in a column of `kind`.
    package init(sqlite value: DatabaseValue, kind: MetadataColumn.Kind) {
        switch value.storage {
        case .null: self = .null
        case .int64(let i): self = Self.normalised(.integer(i), kind: kind)
        case .double(let d): self = Self.normalised(.real(d), kind: kind)
        case .string(let s): self = .text(s)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }

    /// The value of a PostgreSQL cell in a column of `kind`.
    package init(postgres value: PostgresPlainValue, kind: MetadataColumn.Kind) {
        switch value {
        case .null: self = .null
        case .boolean(let b): self = .integer(b ? 1 : 0)
        case .integer(let i): self = Self.normalised(.integer(i), kind: kind)
        case .double(let d): self = Self.normalised(.real(d), kind: kind)
        case .text(let s): self = .text(s)
        case .bytes(let b): self = .blob(b)
        }
    }

    /// A number as its column's kind holds it: a flag as 0/1, a `REAL` column's integer as a double.
    package static func normalised(_ value: MetadataValue, kind: MetadataColumn.Kind) -> MetadataValue {
        switch (value, kind) {
        case (.integer(let i), .boolean): return .integer(i != 0 ? 1 : 0)
        case (.real(let d), .boolean): return .integer(d != 0 ? 1 : 0)
        case (.integer(let i), .real): return .real(Double(i))
        case (.real(let d), .integer):
            if let exact = Int64(exactly: d) { return .integer(exact) }
            return value
        default: return value
        }
    }

    /// The value to bind in SQLite.
    package var sqlite: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let i): return i.databaseValue
        case .real(let d): return d.databaseValue
        case .text(let s): return s.databaseValue
        case .blob(let b): return Data(b).databaseValue
        }
    }

    /// The value to bind in PostgreSQL for a column of `kind` (a flag as `boolean`).
    package func postgres(kind: MetadataColumn.Kind) -> PostgresPlainValue {
        switch self {
        case .null: return .null
        case .integer(let i): return kind == .boolean ? .boolean(i != 0) : .integer(i)
        case .real(let d): return .double(d)
        case .text(let s): return .text(s)
        case .blob(let b): return .bytes(b)
        }
    }

    /// The text, when the value is text.
    package var textValue: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// Feeds the value's canonical encoding to `hasher`: a tag byte, then the integer (8 bytes, big
    /// endian), the double's IEEE bits (8 bytes, big endian), or the length (8 bytes) and the bytes of a
    /// text's UTF-8 or a blob. Unambiguous, so equal hashes mean equal rows.
    package func canonical(into hasher: inout SHA256) {
        func put(_ tag: UInt8, _ number: UInt64) {
            var bytes = [tag]
            withUnsafeBytes(of: number.bigEndian) { bytes.append(contentsOf: $0) }
            hasher.update(data: bytes)
        }
        switch self {
        case .null: hasher.update(data: [0])
        case .integer(let i): put(1, UInt64(bitPattern: i))
        case .real(let d): put(2, d.bitPattern)
        case .text(let s):
            let utf8 = Array(s.utf8)
            put(3, UInt64(utf8.count))
            hasher.update(data: utf8)
        case .blob(let b):
            put(4, UInt64(b.count))
            hasher.update(data: b)
        }
    }
}
