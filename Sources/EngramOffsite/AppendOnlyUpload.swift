public import Foundation

/// Uploads files to an off-site location, append-only: for each file, in the order given,
///
/// 1. digest it (length, SHA-256, MD5),
/// 2. HEAD its key and stop if anything is there (nothing is ever overwritten),
/// 3. PUT it with `If-None-Match: *` under a compliance-mode lock until the retention date,
/// 4. HEAD it again and stop unless the server echoes the compliance mode, the same retain-until date
///    and the file's length.
///
/// Callers put the file that makes a copy complete (a backup's manifest) last, so an upload that stops
/// half-way leaves an incomplete copy that a restore refuses, never a complete-looking wrong one.
public struct AppendOnlyUpload: Sendable {
    /// One uploaded and confirmed object.
    public struct Object: Sendable, Equatable {
        public var key: String
        public var bytes: Int64
        public var sha256: String
        public var versionID: String?
    }

    let client: S3ObjectClient
    let retention: ObjectLockRetention

    public init(client: S3ObjectClient, retention: ObjectLockRetention) {
        self.client = client
        self.retention = retention
    }

    /// Uploads `files` (in this order) as `location/<file name>`; `uploaded` hears each confirmed object.
    public func upload(
        _ files: [URL],
        to location: OffsiteLocation,
        uploaded: (Object) -> Void = { _ in }
    ) async throws(OffsiteError) -> [Object] {
        var objects: [Object] = []
        for file in files {
            let key = location.key(file.lastPathComponent)
            try OffsiteLocation.check(keyPath: key)
            let object = try await upload(file, bucket: location.bucket, key: key)
            uploaded(object)
            objects.append(object)
        }
        return objects
    }

    func upload(_ file: URL, bucket: String, key: String) async throws(OffsiteError) -> Object {
        let digest = try await FileDigest.of(file)
        if try await client.head(bucket: bucket, key: key) != nil { throw .objectExists(key: key) }
        let version = try await client.putNewObject(from: file, digest: digest, bucket: bucket, key: key, retention: retention)
        guard let head = try await client.head(bucket: bucket, key: key) else {
            throw .lockNotConfirmed(key: key, detail: "the object is missing after the upload")
        }
        if let mismatch = retention.mismatch(in: head) { throw .lockNotConfirmed(key: key, detail: mismatch) }
        guard head.contentLength == digest.bytes else {
            throw .lockNotConfirmed(key: key, detail: "the server holds \(head.contentLength.map(String.init) ?? "?") bytes, not \(digest.bytes)")
        }
        return Object(key: key, bytes: digest.bytes, sha256: digest.sha256, versionID: version ?? head.versionID)
    }
}
