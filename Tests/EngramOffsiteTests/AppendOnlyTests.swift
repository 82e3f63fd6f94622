import Foundation
import Testing

@testable import EngramOffsite

/// The append-only guarantee: the module can only HEAD, PUT-if-absent and GET; an upload checks the key is
/// free before and the lock after; downloads are checked and never replace a file.
@Suite struct AppendOnlyTests {
    static let credentials = try! OffsiteCredentials(accessKeyID: "AKIDFAKE", secretAccessKey: "fake-secret-for-tests")
    static let retention = try! ObjectLockRetention(days: 30)

    // MARK: - No delete, no overwrite, by construction

    @Test func theClientKnowsOnlyHeadPutAndGet() {
        #expect(S3Requests.Verb.allCases.map(\.rawValue) == ["HEAD", "PUT", "GET"])
    }

    /// The module's code (comments aside) names no delete, no retention, legal-hold, versioning, lifecycle
    /// or policy call, no governance bypass and no version id, and builds its HTTP method only from `Verb`.
    @Test func theModuleSourceHasNoDeleteOrRetentionCall() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/EngramOffsite")
            .standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 8, "found \(files) in \(sources.path)")
        let forbidden = [
            "delete", "bypass", "?retention", "?legal-hold", "?versioning", "?lifecycle", "?policy", "versionid=", "x-amz-bypass",
            ".post", "\"post\"", ".patch",
        ]
        var methodConstructions = 0
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                let lower = code.lowercased()
                for word in forbidden {
                    #expect(!lower.contains(word), "\(file):\(number + 1) holds \"\(word)\": \(code)")
                }
                if code.contains("HTTPMethod(") {
                    methodConstructions += 1
                    #expect(code.contains("HTTPMethod(rawValue: prepared.verb.rawValue)"), "\(file):\(number + 1): \(code)")
                }
            }
        }
        #expect(methodConstructions == 1)
    }

    @Test func everyPutIsConditionalLockedAndChecksummed() throws {
        let requests = S3Requests(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000", region: "us-east-1"), credentials: Self.credentials)
        let digest = FileDigest(
            bytes: 21,
            sha256: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            md5Base64: "1EfQ6PKJ8WoS/2AnznfCWA=="
        )
        let put = requests.preparePut(bucket: "backups", key: "p/backup-1/engram.sqlite", digest: digest, retention: Self.retention)
        #expect(put.verb == .put)
        #expect(put.url == "http://127.0.0.1:9000/backups/p/backup-1/engram.sqlite")
        #expect(put.value("if-none-match") == "*")
        #expect(put.value("x-amz-object-lock-mode") == "COMPLIANCE")
        #expect(put.value("x-amz-object-lock-retain-until-date") == Self.retention.headerValue)
        #expect(put.value("content-md5") == "1EfQ6PKJ8WoS/2AnznfCWA==")
        #expect(put.value("x-amz-content-sha256") == digest.sha256)
        #expect(put.value("host") == "127.0.0.1:9000")
        #expect(put.value("authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDFAKE/") == true)
    }

    @Test func fileDigestsAreSHA256AndBase64MD5() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("welcome")
        try Data("Welcome to Amazon S3.".utf8).write(to: file)
        #expect(
            try await FileDigest.of(file)
                == FileDigest(
                    bytes: 21,
                    sha256: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                    md5Base64: "1EfQ6PKJ8WoS/2AnznfCWA=="
                )
        )
        let empty = directory.appendingPathComponent("empty")
        try Data().write(to: empty)
        #expect(try await FileDigest.of(empty).md5Base64 == "1B2M2Y8AsgTpgAmY7PhCfg==")
        await #expect(throws: OffsiteError.self) { try await FileDigest.of(directory.appendingPathComponent("absent")) }
    }

    // MARK: - Against a fake server

    @Test func uploadsInOrderWithHeadBeforeAndAfterEachPut() async throws {
        let (directory, files) = try Self.backupFiles()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        let objects = try await FakeS3.serving(fake) { url in
            try await Self.withClient(url) { client in
                let location = try OffsiteLocation(parsing: "s3://backups/team/backup-20261124-013000")
                return try await AppendOnlyUpload(client: client, retention: Self.retention).upload(files, to: location)
            }
        }
        #expect(objects.map(\.key) == ["team/backup-20261124-013000/engram.sqlite", "team/backup-20261124-013000/manifest.json"])
        let received = await fake.received
        #expect(
            received.map { "\($0.method) \($0.path)" } == [
                "HEAD /backups/team/backup-20261124-013000/engram.sqlite",
                "PUT /backups/team/backup-20261124-013000/engram.sqlite",
                "HEAD /backups/team/backup-20261124-013000/engram.sqlite",
                "HEAD /backups/team/backup-20261124-013000/manifest.json",
                "PUT /backups/team/backup-20261124-013000/manifest.json",
                "HEAD /backups/team/backup-20261124-013000/manifest.json",
            ]
        )
        for (put, file) in zip(received.filter { $0.method == "PUT" }, files) {
            #expect(put.body == Array(try Data(contentsOf: file)))
            #expect(put.headers["if-none-match"] == "*")
            #expect(put.headers["x-amz-object-lock-mode"] == "COMPLIANCE")
            #expect(put.headers["x-amz-object-lock-retain-until-date"] == Self.retention.headerValue)
            #expect(put.headers["content-length"] == "\(put.body.count)")
            #expect(put.headers["transfer-encoding"] == nil, "the body streams with its length known")
        }
        #expect(objects.allSatisfy { $0.versionID == "v1" })
    }

    @Test func anExistingKeyStopsTheUploadBeforeAnyPut() async throws {
        let (directory, files) = try Self.backupFiles()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        await fake.store("/backups/p/engram.sqlite", Array("the copy already there".utf8))
        let error = await Self.uploadError(fake, files)
        #expect(error == .objectExists(key: "p/engram.sqlite"))
        #expect(await fake.received.map(\.method) == ["HEAD"])
        #expect(await fake.objects["/backups/p/engram.sqlite"]?.body == Array("the copy already there".utf8))
    }

    /// HEAD said the key was free, but another writer got there first: the conditional PUT is refused
    /// and reported as an existing object; the other copy is untouched.
    @Test func aRefusedConditionalPutIsAnExistingObject() async throws {
        let (directory, files) = try Self.backupFiles()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        await fake.store("/backups/p/engram.sqlite", Array("the other writer's copy".utf8))
        await fake.configure(hiddenFromHead: ["/backups/p/engram.sqlite"])
        let error = await Self.uploadError(fake, files)
        #expect(error == .objectExists(key: "p/engram.sqlite"))
        #expect(await fake.received.map(\.method) == ["HEAD", "PUT"])
        #expect(await fake.objects["/backups/p/engram.sqlite"]?.body == Array("the other writer's copy".utf8))
    }

    @Test func anUnconfirmedLockFailsTheUploadAndStopsIt() async throws {
        let (directory, files) = try Self.backupFiles()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        await fake.configure(echoLock: false)
        let error = await Self.uploadError(fake, files)
        guard case .lockNotConfirmed(let key, _)? = error else {
            Issue.record("expected lockNotConfirmed, got \(String(describing: error))")
            return
        }
        #expect(key == "p/engram.sqlite")
        #expect(await fake.received.filter { $0.method == "PUT" }.count == 1, "the manifest is not sent after a failed file")
    }

    @Test func aRefusedHeadIsReportedWithItsStatus() async throws {
        let (directory, files) = try Self.backupFiles()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        await fake.configure(headStatus: 403)
        let error = await Self.uploadError(fake, files)
        #expect(error == .refused(operation: "HEAD", key: "p/engram.sqlite", status: 403, code: nil, message: nil))
        #expect(await fake.received.map(\.method) == ["HEAD"])
    }

    @Test func downloadsAreCheckedAndNeverReplaceAFile() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = FakeS3()
        let content = Array(repeating: Array("off-site bytes ".utf8), count: 100_000).flatMap { $0 }  // 1.5 MB: several chunks
        await fake.store("/backups/p/engram.sqlite", content)
        try await FakeS3.serving(fake) { url in
            try await Self.withClient(url) { client in
                let target = directory.appendingPathComponent("engram.sqlite")
                let digest = try await client.download(bucket: "backups", key: "p/engram.sqlite", to: target, maximumBytes: Int64(content.count))
                #expect(digest.bytes == Int64(content.count))
                #expect(Array(try Data(contentsOf: target)) == content)
                #expect(digest == (try await FileDigest.of(target)))
                let mode = try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int
                #expect(mode == 0o600)
                // An existing file is never replaced.
                await #expect(throws: OffsiteError.self) {
                    try await client.download(bucket: "backups", key: "p/engram.sqlite", to: target, maximumBytes: Int64(content.count))
                }
                #expect(Array(try Data(contentsOf: target)) == content)
                // A body longer than expected stops the download and leaves no file.
                let short = directory.appendingPathComponent("short")
                await #expect(throws: OffsiteError.integrity(key: "p/engram.sqlite", detail: "longer than the expected 1000 bytes")) {
                    try await client.download(bucket: "backups", key: "p/engram.sqlite", to: short, maximumBytes: 1000)
                }
                #expect(!FileManager.default.fileExists(atPath: short.path))
                await #expect(throws: OffsiteError.notFound(key: "p/absent")) {
                    try await client.download(bucket: "backups", key: "p/absent", to: directory.appendingPathComponent("absent"), maximumBytes: 10)
                }
            }
        }
    }

    // MARK: - Helpers

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-offsite-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A database-like file of 3 MB and a manifest, in upload order.
    static func backupFiles() throws -> (URL, [URL]) {
        let directory = try scratch()
        let database = directory.appendingPathComponent("engram.sqlite")
        try Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: database)
        let manifest = directory.appendingPathComponent("manifest.json")
        try Data(#"{"format": 1}"#.utf8).write(to: manifest)
        return (directory, [database, manifest])
    }

    static func withClient<T: Sendable>(_ url: String, _ body: (S3ObjectClient) async throws -> T) async throws -> T {
        let client = S3ObjectClient(endpoint: try S3Endpoint(url: url, region: "us-east-1"), credentials: credentials)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// The error an upload of `files` to `s3://backups/p` ends with, nil when it succeeds.
    static func uploadError(_ fake: FakeS3, _ files: [URL]) async -> OffsiteError? {
        do {
            _ = try await FakeS3.serving(fake) { url in
                try await withClient(url) { client in
                    try await AppendOnlyUpload(client: client, retention: retention).upload(files, to: try OffsiteLocation(parsing: "s3://backups/p"))
                }
            }
            return nil
        } catch let error as OffsiteError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }
}
