import ArgumentParser
import Crypto
import EngramAtRest
import EngramAuth
import EngramClientKit
import EngramConfig
import EngramCore
import EngramDatabase
import EngramEmbedding
import EngramImport
import EngramMemory
import EngramMemoryModel
import EngramMetadata
import EngramOperations
import EngramRuntime
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// Line-oriented JSONL file I/O with optional gzip (through the system `gzip`).
enum JSONLines {
    static func write(_ lines: [Data], to path: String) throws {
        var blob = Data()
        for l in lines {
            blob.append(l)
            blob.append(0x0A)
        }
        if path.hasSuffix(".gz") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["gzip", "-c"]
            let input = Pipe()
            let output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            try p.run()
            let payload = blob
            let writer = Thread {
                input.fileHandleForWriting.write(payload)
                try? input.fileHandleForWriting.close()
            }
            writer.start()
            let compressed = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw ValidationError("gzip failed") }
            try compressed.write(to: URL(fileURLWithPath: path), options: .atomic)
        } else {
            try blob.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    static func read(_ path: String) throws -> [Data] {
        var data: Data
        if path.hasSuffix(".gz") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["gzip", "-dc", path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw ValidationError("cannot decompress \(path)") }
        } else {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        }
        return data.split(separator: 0x0A).map { Data($0) }.filter { !$0.isEmpty }
    }
}

/// One exported memory: the memory (all fields, provenance and anchors included), its vector, its
/// versions (each with the stored snapshot text, so an import writes them back byte for byte) and its usage.
struct ExportLine: Codable {
    var memory: Memory
    var vector: [Float]?
    var versions: [ExportVersion]?
    var usage: ExportUsage?

    init(_ item: MemoryService.ImportItem) {
        memory = item.memory
        vector = item.vector
        versions = item.versions.map { $0.map(ExportVersion.init) }
        usage = item.usage.map { ExportUsage(servedCount: $0.servedCount, lastServedAt: $0.lastServedAt, lastConfirmedAt: $0.lastConfirmedAt) }
    }

    /// The export's identity of a memory's sealed content.
    static func contentIdentity(_ memory: Memory) -> String { "export:memory:\(memory.id.lowercasedText):content" }

    /// The line with the memory's content and version snapshots sealed (`e1:` text) under `cipher`,
    /// bound to the memory and version they belong to: an encrypted server's exports stay encrypted.
    func sealed(with cipher: AtRestCipher) throws -> ExportLine { try mappingSealedFields(cipher.sealText) }

    /// The line with sealed fields opened under `cipher`.
    func opened(with cipher: AtRestCipher) throws -> ExportLine { try mappingSealedFields(cipher.openText) }

    /// Whether any field of the line is sealed.
    var isSealed: Bool {
        memory.content.hasPrefix(AtRestCipher.textPrefix) || (versions ?? []).contains { $0.snapshot.hasPrefix(AtRestCipher.textPrefix) }
    }

    /// The line with `transform(text, tenant, identity)` applied to the content and every snapshot.
    private func mappingSealedFields(_ transform: (String, String, String) throws -> String) throws -> ExportLine {
        var line = self
        line.memory.content = try transform(memory.content, memory.tenant, Self.contentIdentity(memory))
        line.versions = try versions?.map { v in
            var v = v
            v.snapshot = try transform(
                v.snapshot,
                LifecycleRecords.exportVersionTenant(v.orgId),
                LifecycleRecords.exportVersionIdentity(memory.id.lowercasedText, v.version)
            )
            return v
        }
        return line
    }

    var item: MemoryService.ImportItem {
        MemoryService.ImportItem(
            memory: memory,
            vector: vector,
            versions: versions?.map { $0.row(memoryId: memory.id.lowercasedText) },
            usage: usage.map { MemoryUsage(servedCount: $0.servedCount, lastServedAt: $0.lastServedAt, lastConfirmedAt: $0.lastConfirmedAt) }
        )
    }

    struct ExportVersion: Codable {
        var version: Int
        var at: Double
        var actor: String
        var channel: String
        var client: String?
        var requestId: String?
        var reason: String
        var orgId: String?
        var state: String
        var contentHash: String
        /// The stored snapshot: the memory's payload as JSON text.
        var snapshot: String

        init(_ r: VersionRow) {
            version = r.version
            at = r.at
            actor = r.actor
            channel = r.channel
            client = r.client
            requestId = r.requestId
            reason = r.reason
            orgId = r.orgId
            state = r.state
            contentHash = r.contentHash
            snapshot = String(decoding: r.snapshot, as: UTF8.self)
        }

        func row(memoryId: String) -> VersionRow {
            VersionRow(
                memoryId: memoryId,
                version: version,
                at: at,
                actor: actor,
                channel: channel,
                client: client,
                requestId: requestId,
                reason: reason,
                orgId: orgId,
                state: state,
                contentHash: contentHash,
                snapshot: Data(snapshot.utf8)
            )
        }
    }

    struct ExportUsage: Codable {
        var servedCount: Int
        var lastServedAt: Date?
        var lastConfirmedAt: Date?
    }

    /// RFC 3339 with microseconds, so times survive the round trip exactly.
    static let dateEncoding = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var c = encoder.singleValueContainer()
        try c.encode(RFC3339.format(date.timeIntervalSince1970))
    }
    static let dateDecoding = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = RFC3339.parse(s) else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid time \(s)") }
        return Date(timeIntervalSince1970: t)
    }
}

/// `engram export --out memories.jsonl[.gz]`.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export every memory with its vector as JSON lines.")
    @Option(help: "Output file (.jsonl or .jsonl.gz).") var out: String
    @Option(help: "embedded (default) or qdrant://host:6333?api_key=… (env ENGRAM_STORE).") var store: String?
    @Flag(help: "With ENGRAM_ENCRYPTION_KEY set, write the content in plaintext (default: sealed, as stored).")
    var decrypt = false
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await storeOptions.withPostgresMetadata { metadata in try await export(metadata: metadata) }
    }

    private func export(metadata: (any MetadataStore)?) async throws {
        let logger = MemoryStores.quietLogger()
        let cipher = decrypt ? nil : try EngramConfiguration().atRestCipher()
        let setup = try await Runtime.embedder(logger: logger, dataDirectory: storeOptions.dataDirectory)
        let service = try await MemoryStores.open(
            EngramConfiguration().storeSpec(flag: store),
            dataDirectory: storeOptions.dataDirectory,
            setup: setup,
            mode: .readOnly,
            metadata: metadata,
            logger: logger
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = ExportLine.dateEncoding
        var lines: [Data] = []
        var offset: PointID?
        let progress = ProgressReporter("exporting", total: service.count)
        if try await MemoryStores.hasCollection(service) {
            repeat {
                let page = try await service.exportPage(after: offset)
                for item in page.items {
                    let line = ExportLine(item)
                    lines.append(try encoder.encode(try cipher.map(line.sealed) ?? line))
                }
                offset = page.next
                progress.update(lines.count)
            } while offset != nil
        }
        await MemoryStores.close(service)
        try JSONLines.write(lines, to: out)
        progress.finish()
        print("exported \(lines.count) memories to \(out)")
    }
}

/// `engram import --in memories.jsonl[.gz]`: secret scan, dedup, re-embed only when the model differs.
/// `engram import --from claude-md|mem0|mcp-memory-service FILE|DIR`: through a running server (`ExternalImportOptions`).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import memories exported by `engram export`, or (--from) CLAUDE.md files, mem0 and mcp-memory-service exports."
    )
    @Option(name: .customLong("in"), help: "Input file (.jsonl or .jsonl.gz).") var input: String?
    @Option(help: "embedded (default) or qdrant://host:6333?api_key=… (env ENGRAM_STORE).") var store: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var external: ExternalImportOptions

    func validate() throws { try external.check(input: input) }

    func run() async throws {
        guard let input else { return try await external.run() }
        try await storeOptions.withPostgresMetadata { metadata in try await importFile(input, metadata: metadata) }
    }

    private func importFile(_ input: String, metadata: (any MetadataStore)?) async throws {
        let logger = MemoryStores.quietLogger()
        let setup = try await Runtime.embedder(logger: logger, dataDirectory: storeOptions.dataDirectory)
        let service = try await MemoryStores.open(
            EngramConfiguration().storeSpec(flag: store),
            dataDirectory: storeOptions.dataDirectory,
            setup: setup,
            mode: .readWrite,
            metadata: metadata,
            logger: logger
        )
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = ExportLine.dateDecoding
        let cipher = try EngramConfiguration().atRestCipher()
        let lines = try JSONLines.read(input)
        var imported = 0
        var skipped = 0
        var rejected = 0
        var batch: [MemoryService.ImportItem] = []
        let progress = ProgressReporter("importing", total: lines.count)
        func flush() async throws {
            guard !batch.isEmpty else { return }
            do {
                let r = try await service.importSkippingDuplicates(batch)
                imported += r.imported
                skipped += r.skipped
            } catch MemoryError.secretDetected, MemoryError.poisoningDetected {
                // Retry one by one so only the memories holding secrets or planted instructions are refused.
                for item in batch {
                    do {
                        let r = try await service.importSkippingDuplicates([item])
                        imported += r.imported
                        skipped += r.skipped
                    } catch MemoryError.secretDetected, MemoryError.poisoningDetected { rejected += 1 }
                }
            }
            batch.removeAll()
            progress.update(imported + skipped + rejected)
        }
        for (n, line) in lines.enumerated() {
            var entry: ExportLine
            do { entry = try decoder.decode(ExportLine.self, from: line) } catch {
                throw ValidationError("line \(n + 1) is not an exported memory")
            }
            if entry.isSealed {
                guard let cipher else { throw ValidationError("line \(n + 1) is encrypted: set ENGRAM_ENCRYPTION_KEY to the exporting server's key") }
                do { entry = try entry.opened(with: cipher) } catch {
                    throw ValidationError("line \(n + 1) does not open with ENGRAM_ENCRYPTION_KEY (another key, or altered)")
                }
            }
            batch.append(entry.item)
            if batch.count == 256 { try await flush() }
        }
        try await flush()
        await MemoryStores.close(service)
        progress.finish()
        print("imported \(imported), skipped \(skipped) duplicates, rejected \(rejected) holding secrets")
    }
}

/// `engram migrate --from embedded --to qdrant://…`: copy every memory with its vector, then verify counts and checksums.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy all memories between the embedded store and a remote Qdrant, or the metadata between SQLite and PostgreSQL, verified."
    )
    @Option(help: "Source: embedded or qdrant://… (memories); sqlite:DIR or postgres://owner… (metadata).") var from: String
    @Option(help: "Target: embedded or qdrant://… (memories); postgres://owner… or sqlite:DIR (metadata).") var to: String
    @Option(help: "Data directory of the target when it is embedded (default: the --data-dir).") var targetDataDir: String?
    @Option(help: "PostgreSQL application role the migrations grant to (metadata into PostgreSQL).") var appRole = "engram_app"
    @OptionGroup var storeOptions: StoreOptions

    /// SHA-256 over every memory's id, content hash, state and update time, in id order, and the count.
    static func checksum(_ service: MemoryService) async throws -> (Int, String) {
        var hasher = SHA256()
        var n = 0
        var offset: PointID?
        repeat {
            let page = try await service.exportPage(after: offset)
            for item in page.items {
                let m = item.memory
                hasher.update(data: Data((m.id.uuidString + m.contentHash + m.state.rawValue + "\(m.updatedAt.timeIntervalSince1970)").utf8))
                n += 1
            }
            offset = page.next
        } while offset != nil
        return (n, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Walks both stores in id order and returns the largest vector component difference
    /// (backends may renormalise unit vectors in the last bits) and the number of id mismatches.
    static func vectorDrift(_ a: MemoryService, _ b: MemoryService) async throws -> (Float, Int) {
        var offA: PointID?
        var offB: PointID?
        var bufA: [MemoryService.ImportItem] = []
        var bufB: [MemoryService.ImportItem] = []
        var doneA = false
        var doneB = false
        var drift: Float = 0
        var mismatches = 0
        while true {
            if bufA.isEmpty, !doneA {
                let p = try await a.exportPage(after: offA)
                bufA = p.items
                offA = p.next
                doneA = p.next == nil
            }
            if bufB.isEmpty, !doneB {
                let p = try await b.exportPage(after: offB)
                bufB = p.items
                offB = p.next
                doneB = p.next == nil
            }
            if bufA.isEmpty || bufB.isEmpty {
                mismatches += bufA.count + bufB.count
                if (bufA.isEmpty && doneA) || (bufB.isEmpty && doneB) { break }
                continue
            }
            let x = bufA.removeFirst()
            let y = bufB.removeFirst()
            guard x.memory.id == y.memory.id, let vx = x.vector, let vy = y.vector, vx.count == vy.count else {
                mismatches += 1
                continue
            }
            for (p, q) in zip(vx, vy) { drift = max(drift, abs(p - q)) }
        }
        return (drift, mismatches)
    }

    func run() async throws {
        if MetadataMigration.namesMetadataStore(from) || MetadataMigration.namesMetadataStore(to) {
            try await MetadataMigration(from: from, to: to, appRole: appRole).run()
            return
        }
        guard from != to || targetDataDir != nil else { throw ValidationError("source and target are the same") }
        let logger = MemoryStores.quietLogger()
        let setup = try await Runtime.embedder(logger: logger, dataDirectory: storeOptions.dataDirectory)
        let source = try await MemoryStores.open(from, dataDirectory: storeOptions.dataDirectory, setup: setup, mode: .readOnly, logger: logger)
        guard try await MemoryStores.hasCollection(source) else {
            print("the source holds no memories: nothing to migrate")
            await MemoryStores.close(source)
            return
        }
        let targetDir = targetDataDir.map { URL(fileURLWithPath: $0) } ?? storeOptions.dataDirectory
        let target = try await MemoryStores.open(to, dataDirectory: targetDir, setup: setup, mode: .readWrite, logger: logger)
        var offset: PointID?
        var copied = 0
        let progress = ProgressReporter("migrating", total: source.count)
        repeat {
            let page = try await source.exportPage(after: offset)
            copied += try await target.importMemories(page.items)
            offset = page.next
            progress.update(copied)
        } while offset != nil
        progress.finish()
        let (n1, c1) = try await Self.checksum(source)
        let (n2, c2) = try await Self.checksum(target)
        let (drift, mismatches) = try await Self.vectorDrift(source, target)
        await MemoryStores.close(source, target)
        print(
            "source: \(n1) memories, checksum \(c1.prefix(16))…; target: \(n2) memories, checksum \(c2.prefix(16))…; "
                + "largest vector difference \(drift), mismatched ids \(mismatches)"
        )
        guard n1 == n2, c1 == c2, mismatches == 0, drift <= 1e-5 else {
            FileHandle.standardError.write(Data("MIGRATION VERIFICATION FAILED: counts, checksums or vectors differ\n".utf8))
            throw ExitCode(1)
        }
        print("migrated \(copied) memories; counts and checksums match")
    }
}
