import EngramBackup
import EngramDatabase
import Foundation
import GRDB
import XCTest

@testable import EngramStore
@testable import EngramStoreModel

/// The data directory, database files and backups are private (0700 / 0600), and files an older
/// version left world-readable are tightened when the store opens, whatever the process umask.
final class PrivateFilesTests: XCTestCase {
    func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
    }

    func testStoreAndBackupFilesArePrivate() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("engram-private-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try fm.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let db = data.appendingPathComponent("engram.sqlite").path
        XCTAssertTrue(fm.createFile(atPath: db, contents: nil, attributes: [.posixPermissions: 0o644]))
        let store = try EmbeddedStore(directory: data)
        try await store.createCollection(CollectionConfig(name: "c", vectorSize: 2))
        XCTAssertEqual(try mode(data.path), 0o700)
        for path in [db, db + "-wal", db + "-shm"] { XCTAssertEqual(try mode(path), 0o600, path) }

        let backup = root.appendingPathComponent("backups/one")
        try StoreBackup.create(from: store.database.pool, into: backup)
        XCTAssertEqual(try mode(backup.path), 0o700)
        for name in try fm.contentsOfDirectory(atPath: backup.path) {
            XCTAssertEqual(try mode(backup.appendingPathComponent(name).path), 0o600, name)
        }
    }
}
