import EngramAuth
import EngramEmbedding
import EngramQdrantClient
import EngramStore
import EngramStoreModel
import Foundation
import XCTest

@testable import EngramMemory

enum MemoryTestSupport {
    static var modelDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models/all-MiniLM-L6-v2")
    }

    /// The real embedder; the test fails (not skips) when the model is missing.
    static func embedder() throws -> MiniLMEmbedder {
        let dir = modelDirectory
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            throw Missing(description: "MiniLM model missing in \(dir.path): run `make model` or set ENGRAM_MODEL_DIR")
        }
        return try MiniLMEmbedder(modelDirectory: dir)
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// A fresh store: embedded in a temporary directory, or — when `ENGRAM_TEST_QDRANT_URL` is set —
    /// the remote-Qdrant backend on that server with the memory collection emptied, so the same
    /// suite runs on both backends.
    static func store() async throws -> (any VectorStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-memory-\(UUID().uuidString)")
        if let url = ProcessInfo.processInfo.environment["ENGRAM_TEST_QDRANT_URL"], !url.isEmpty {
            let remote = try remoteStore(url)
            for c in try await remote.listCollections() where c.name.hasPrefix("memories_") { try await remote.deleteCollection(c.name) }
            return (remote, dir)
        }
        return (try EmbeddedStore(directory: dir), dir)
    }

    /// One remote store per test process (its HTTP client lives as long as the process).
    nonisolated(unsafe) static var remote: QdrantRemoteStore?
    static let remoteLock = NSLock()

    static func remoteStore(_ url: String) throws -> QdrantRemoteStore {
        try remoteLock.withLock {
            if let remote { return remote }
            let created = try QdrantRemoteStore(url: url)
            remote = created
            return created
        }
    }

    /// A GitHub-style token with a valid CRC32 checksum, assembled at run time so
    /// repository scanners never see a literal credential.
    static func fakeGitHubToken() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var rng = SystemRandomNumberGenerator()
        let body = String((0..<30).map { _ in alphabet.randomElement(using: &rng)! })
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body.utf8 {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        crc ^= 0xFFFF_FFFF
        var checksum: [Character] = []
        for _ in 0..<6 {
            checksum.append(alphabet[Int(crc % 62)])
            crc /= 62
        }
        return "gh" + "p_" + body + String(checksum.reversed())
    }
}

extension Principal {
    static func user(_ id: String, org: String? = "acme", role: Role = .member) -> Principal {
        Principal(userId: id, orgId: org, role: role)
    }
}
