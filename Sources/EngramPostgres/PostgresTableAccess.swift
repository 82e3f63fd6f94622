import NIOCore
import PostgresNIO

/// A column value as whole-table tools see it (`engram migrate` between the metadata engines), without
/// postgres-nio's types: each cell decodes by its server type, and each bound value encodes as one.
public enum PostgresPlainValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    /// `smallint`, `integer` or `bigint`.
    case integer(Int64)
    /// `real` or `double precision`.
    case double(Double)
    case text(String)
    /// `bytea`.
    case bytes([UInt8])
}

extension PostgresTransaction {
    /// Runs `sql`, whose `$1`, `$2`, … are bound to `values` in order, and returns every row's cells as
    /// plain values. A cell of a type outside `PostgresPlainValue` is a `decoding` error. `sql` must be built
    /// from constant identifiers only: every value goes through `values`.
    public func plainRows(_ sql: String, _ values: [PostgresPlainValue] = []) throws(PostgresEngineError) -> [[PostgresPlainValue]] {
        let rows = try query(PostgresQuery(unsafeSQL: sql, binds: Self.bindings(values)))
        var result: [[PostgresPlainValue]] = []
        result.reserveCapacity(rows.count)
        for row in rows {
            var cells: [PostgresPlainValue] = []
            cells.reserveCapacity(row.count)
            for cell in row { cells.append(try Self.plain(cell)) }
            result.append(cells)
        }
        return result
    }

    /// Runs `sql` with `values` bound to `$1`, `$2`, … and returns how many rows it inserted, updated or
    /// deleted.
    @discardableResult
    public func plainExecute(_ sql: String, _ values: [PostgresPlainValue] = []) throws(PostgresEngineError) -> Int {
        try execute(PostgresQuery(unsafeSQL: sql, binds: Self.bindings(values)))
    }

    static func bindings(_ values: [PostgresPlainValue]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case .boolean(let b): binds.append(b)
            case .integer(let i): binds.append(i)
            case .double(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .bytes(let b): binds.append(ByteBuffer(bytes: b))
            }
        }
        return binds
    }

    static func plain(_ cell: PostgresCell) throws(PostgresEngineError) -> PostgresPlainValue {
        guard cell.bytes != nil else { return .null }
        do {
            switch cell.dataType {
            case .bool: return .boolean(try cell.decode(Bool.self))
            case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .double(try cell.decode(Double.self))
            case .text, .varchar, .name, .bpchar: return .text(try cell.decode(String.self))
            case .bytea:
                var buffer = try cell.decode(ByteBuffer.self)
                return .bytes(buffer.readBytes(length: buffer.readableBytes) ?? [])
            default:
                throw PostgresEngineError.decoding("column \(cell.columnName) has type \(cell.dataType), which plain rows do not carry")
            }
        } catch let error as PostgresEngineError {
            throw error
        } catch {
            throw PostgresEngineError.decoding("column \(cell.columnName): \(error)")
        }
    }
}
