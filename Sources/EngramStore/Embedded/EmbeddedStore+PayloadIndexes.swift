public import EngramCore
import EngramKernels
import EngramStoreModel
import Foundation
import GRDB

/// Payload index definitions (Qdrant's `payload_schema`) and collection names.
extension EmbeddedStore {
    // MARK: - Payload index definitions

    /// Records a payload index definition (Qdrant's `payload_schema`). Exact search needs no
    /// index; the definition is kept durably so clients see what they created. A keyword index
    /// with `is_tenant: true` on a collection without a tenant key makes that field the tenant
    /// key: points are re-sharded per value, so searches pinning it scan only those shards.
    /// Suspends until the writer queue has committed and fsynced the definition (and re-sharding).
    public func createPayloadIndex(_ collection: String, field: String, schema: JSONValue) async throws {
        try await onWriter { try self.createPayloadIndexBlocking(collection, field: field, schema: schema) }
    }

    func createPayloadIndexBlocking(_ collection: String, field: String, schema: JSONValue) throws {
        guard !field.isEmpty else { throw StoreError.invalidRequest("field_name must not be empty") }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let json = String(decoding: try e.encode(schema), as: UTF8.self)
        var isTenant = false
        if case let .object(o) = schema, o["is_tenant"] == .bool(true), o["type"] == .string("keyword") { isTenant = true }
        try lock.write {
            let state = try state(collection)
            guard isTenant, state.config.tenantKey == nil else {
                try pool.write { db in
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO payload_indexes (collection_id, field, schema) VALUES (?, ?, ?)",
                        arguments: [state.id, field, json]
                    )
                }
                state.payloadIndexes[field] = schema
                return
            }
            var config = state.config
            config.tenantKey = field
            let resharded = CollectionState(id: state.id, config: config)
            try pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO payload_indexes (collection_id, field, schema) VALUES (?, ?, ?)",
                    arguments: [state.id, field, json]
                )
                try db.execute(sql: "UPDATE collections SET tenant_key = ? WHERE id = ?", arguments: [field, state.id])
                // A sealed payload's key follows its tenant: a point that changes tenant is resealed.
                let update = try db.cachedStatement(sql: "UPDATE points SET tenant = ?, payload = ? WHERE rowid = ?")
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT rowid, payload, pid, tenant FROM points WHERE collection_id = ?",
                    arguments: [state.id]
                )
                for row in rows {
                    let key: String = row[2]
                    let payload = try decodePayload(row[1], key: key, tenant: row[3])
                    let tenant = PayloadCoding.tenant(of: payload, key: field)
                    let stored: Data = tenant == row[3] ? row[1] : try encodePayload(payload, key: key, tenant: tenant)
                    try update.execute(arguments: [tenant, stored, row[0] as Int64])
                }
                try Self.loadCollection(db, resharded)
            }
            collections[collection] = resharded
        }
    }

    /// Removes a payload index definition; returns whether it existed. Suspends until the writer
    /// queue has committed and fsynced the removal.
    @discardableResult
    public func deletePayloadIndex(_ collection: String, field: String) async throws -> Bool {
        try await onWriter { try self.deletePayloadIndexBlocking(collection, field: field) }
    }

    func deletePayloadIndexBlocking(_ collection: String, field: String) throws -> Bool {
        try lock.write {
            let state = try state(collection)
            guard state.payloadIndexes[field] != nil else { return false }
            try pool.write { db in
                try db.execute(sql: "DELETE FROM payload_indexes WHERE collection_id = ? AND field = ?", arguments: [state.id, field])
            }
            state.payloadIndexes[field] = nil
            return true
        }
    }

    /// The payload index definitions of a collection, field → schema. Suspends on the reader
    /// queue (for the lock).
    public func payloadIndexes(_ collection: String) async throws -> [String: JSONValue] {
        try await onReader { try self.lock.read { try self.state(collection).payloadIndexes } }
    }

    /// The collection names, sorted. Suspends on the reader queue (for the lock).
    public func collectionNames() async throws -> [String] {
        try await onReader { self.lock.read { self.collections.keys.sorted() } }
    }
}
