package import EngramBackup
package import EngramConfig
import EngramDatabase
package import EngramOffsite
package import Foundation

extension OffsiteError: CommandFailure {}

/// The off-site copy of backups: `engram backup --offsite` uploads a verified backup directory to
/// `s3://bucket/prefix/backup-<created>/` (every file the manifest lists first: the database and, when the
/// metadata lives in PostgreSQL, `metadata.pgdump`; the manifest last) under a compliance-mode Object Lock;
/// `engram restore --offsite` downloads such a folder and checks every file against its manifest before the
/// usual restore runs.
package struct OffsiteBackups {
    package let location: OffsiteLocation
    package let endpoint: S3Endpoint
    package let credentials: OffsiteCredentials

    /// The largest manifest downloaded (a real one is a few hundred bytes).
    package static let maximumManifestBytes: Int64 = 1 << 20

    /// Reads `--offsite` and the `ENGRAM_OFFSITE_*` settings; fails before anything is sent.
    package init(location text: String, configuration: EngramConfiguration = EngramConfiguration()) throws {
        location = try OffsiteLocation(parsing: text)
        (endpoint, credentials) = try configuration.offsiteService()
    }

    /// Uploads the verified backup in `directory`; returns the folder it went to and the objects.
    package func upload(_ directory: URL, retention: ObjectLockRetention) async throws -> (OffsiteLocation, [AppendOnlyUpload.Object]) {
        let manifest = try Self.manifest(at: directory.appendingPathComponent(StoreBackup.manifestFile))
        guard let created = ISO8601DateFormatter().date(from: manifest.createdAt) else {
            throw OffsiteError.invalidSettings("the manifest's creation time \(manifest.createdAt) is not a date")
        }
        let folder = try location.appending(StoreBackup.timestampedName(created))
        let files = try manifest.files.map { try Self.checked($0.name) } + [StoreBackup.manifestFile]
        let client = S3ObjectClient(endpoint: endpoint, credentials: credentials)
        do {
            let objects = try await AppendOnlyUpload(client: client, retention: retention).upload(
                files.map { directory.appendingPathComponent($0) },
                to: folder
            ) { object in
                print("off-site: \(folder.bucket)/\(object.key) \(object.bytes) bytes sha256 \(object.sha256.prefix(16))… locked")
            }
            await client.shutdown()
            return (folder, objects)
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Downloads the backup folder at the location into `directory` (which must be empty), checking each
    /// file's size and SHA-256 against the downloaded manifest; returns the manifest.
    package func download(into directory: URL) async throws -> BackupManifest {
        guard !location.prefix.isEmpty else {
            throw OffsiteError.invalidLocation("name the backup folder: s3://bucket/prefix/backup-<timestamp>")
        }
        let client = S3ObjectClient(endpoint: endpoint, credentials: credentials)
        do {
            let manifestURL = directory.appendingPathComponent(StoreBackup.manifestFile)
            _ = try await client.download(
                bucket: location.bucket,
                key: location.key(StoreBackup.manifestFile),
                to: manifestURL,
                maximumBytes: Self.maximumManifestBytes
            )
            let manifest = try Self.manifest(at: manifestURL)
            for file in manifest.files {
                let name = try Self.checked(file.name)
                let key = location.key(name)
                let digest = try await client.download(
                    bucket: location.bucket,
                    key: key,
                    to: directory.appendingPathComponent(name),
                    maximumBytes: Int64(file.bytes)
                )
                guard digest.bytes == Int64(file.bytes), digest.sha256 == file.sha256 else {
                    throw OffsiteError.integrity(
                        key: key,
                        detail: "\(digest.bytes) bytes sha256 \(digest.sha256) against the manifest's \(file.bytes) bytes sha256 \(file.sha256)"
                    )
                }
                print("off-site: \(location.bucket)/\(key) \(digest.bytes) bytes, sha256 matches the manifest")
            }
            await client.shutdown()
            return manifest
        } catch {
            await client.shutdown()
            throw error
        }
    }

    package static func manifest(at url: URL) throws -> BackupManifest {
        guard let data = try? Data(contentsOf: url), let manifest = try? JSONDecoder().decode(BackupManifest.self, from: data) else {
            throw OffsiteError.integrity(key: url.lastPathComponent, detail: "not a readable backup manifest")
        }
        return manifest
    }

    /// A file name from a manifest, which must name a file beside it (no path, not the manifest itself).
    package static func checked(_ name: String) throws -> String {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), name != StoreBackup.manifestFile,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw OffsiteError.integrity(key: StoreBackup.manifestFile, detail: "names a file \"\(name)\" outside the backup")
        }
        return name
    }
}
