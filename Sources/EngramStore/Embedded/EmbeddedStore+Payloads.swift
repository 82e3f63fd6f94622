import EngramCore
import EngramKernels
public import EngramStoreModel
import Foundation
import GRDB

/// Payload edits: one transaction per edit, points moved between shards when their tenant changes.
extension EmbeddedStore {
    // MARK: - Payload edits

    /// Merges `payload` into the selected points (a null value deletes the key); `key` nests it
    /// under a dotted path. With `requireAll`, an id naming a missing point fails the edit with
    /// `StoreError.pointNotFound` and nothing is written (Qdrant's semantics). Suspends as `editPayloads`.
    public func setPayload(
        _ collection: String,
        payload: Payload,
        key: String?,
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { old in
            var new = old
            if let key {
                new = Self.merging(payload, into: new, at: key.split(separator: ".").map(String.init))
            } else {
                for (k, v) in payload { if v.isNull { new[k] = nil } else { new[k] = v } }
            }
            return new
        }
    }

    static func merging(_ payload: Payload, into object: Payload, at path: [String]) -> Payload {
        var result = object
        guard let head = path.first else {
            for (k, v) in payload { if v.isNull { result[k] = nil } else { result[k] = v } }
            return result
        }
        var inner: Payload = [:]
        if case let .object(o)? = object[head] { inner = o }
        result[head] = .object(merging(payload, into: inner, at: Array(path.dropFirst())))
        return result
    }

    /// Replaces the selected points' payloads (`requireAll` as in `setPayload`). Suspends as `editPayloads`.
    public func overwritePayload(
        _ collection: String,
        payload: Payload,
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { _ in payload }
    }

    /// Removes keys (dotted paths) from the selected points (`requireAll` as in `setPayload`).
    /// Suspends as `editPayloads`.
    public func deletePayloadKeys(
        _ collection: String,
        keys: [String],
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { old in
            var new = old
            for key in keys { new = Self.removing(key.split(separator: ".").map(String.init)[...], from: new) }
            return new
        }
    }

    static func removing(_ path: ArraySlice<String>, from object: Payload) -> Payload {
        guard let head = path.first else { return object }
        var result = object
        if path.count == 1 {
            result[head] = nil
        } else if case let .object(o)? = object[head] {
            result[head] = .object(removing(path.dropFirst(), from: o))
        }
        return result
    }

    /// Empties the selected points' payloads (`requireAll` as in `setPayload`). Suspends as `editPayloads`.
    public func clearPayload(_ collection: String, _ selector: PointSelector, requireAll: Bool = false) async throws {
        try await editPayloads(collection, selector, requireAll: requireAll) { _ in [:] }
    }

    /// Applies `transform` to the selected points' payloads in one transaction, moving points
    /// between shards when their tenant value changes. With `requireAll`, an id selector naming a
    /// missing point fails the whole edit with `StoreError.pointNotFound` and nothing is written
    /// (Qdrant's semantics). Suspends until the writer queue (where `transform` runs) has committed
    /// and fsynced the edit and updated the in-memory shards.
    func editPayloads(
        _ collection: String,
        _ selector: PointSelector,
        requireAll: Bool = false,
        _ transform: @escaping @Sendable (Payload) throws -> Payload
    ) async throws {
        try await onWriter { try self.editPayloadsBlocking(collection, selector, requireAll: requireAll, transform) }
    }

    func editPayloadsBlocking(
        _ collection: String,
        _ selector: PointSelector,
        requireAll: Bool,
        _ transform: (Payload) throws -> Payload
    ) throws {
        try lock.write {
            let state = try state(collection)
            struct Move {
                let rowid: Int64
                let from: String?
                let to: String?
            }
            let (moves, edited) = try pool.write { db -> ([Move], [Int64]) in
                var moves: [Move] = []
                var edited: [Int64] = []
                let update = try db.cachedStatement(sql: "UPDATE points SET payload = ?, tenant = ? WHERE rowid = ?")
                for row in try selectRows(db, state, selector, requireAll: requireAll) {
                    let new = try transform(row.payload)
                    let tenant = PayloadCoding.tenant(of: new, key: state.config.tenantKey)
                    try update.execute(arguments: [try encodePayload(new, key: row.id.storageKey, tenant: tenant), tenant, row.rowid])
                    edited.append(row.rowid)
                    if tenant != row.tenant { moves.append(Move(rowid: row.rowid, from: row.tenant, to: tenant)) }
                }
                return (moves, edited)
            }
            state.invalidate(edited)
            for m in moves {
                guard let from = state.shards[m.from], let v = from.vector(for: m.rowid) else { continue }
                from.remove(id: m.rowid)
                try state.shard(m.to).upsertPrepared(id: m.rowid, vector: v)
            }
        }
    }
}
