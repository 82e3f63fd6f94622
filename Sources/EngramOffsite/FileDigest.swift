import Crypto
public import Foundation
import NIOCore
import NIOFileSystem

/// A file's length, hex SHA-256 (`x-amz-content-sha256`) and base64 MD5 (`Content-MD5`, which S3 requires
/// with Object Lock headers), read once in 1 MiB chunks.
public struct FileDigest: Sendable, Equatable {
    public var bytes: Int64
    public var sha256: String
    public var md5Base64: String

    public init(bytes: Int64, sha256: String, md5Base64: String) {
        self.bytes = bytes
        self.sha256 = sha256
        self.md5Base64 = md5Base64
    }

    /// Reads `file` through and digests it.
    public static func of(_ file: URL) async throws(OffsiteError) -> FileDigest {
        do {
            return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(file.path)) { handle in
                var sha = SHA256()
                var md5 = Insecure.MD5()
                var bytes: Int64 = 0
                for try await chunk in handle.readChunks(chunkLength: .mebibytes(1)) {
                    chunk.withUnsafeReadableBytes { raw in
                        sha.update(bufferPointer: raw)
                        md5.update(bufferPointer: raw)
                    }
                    bytes += Int64(chunk.readableBytes)
                }
                return FileDigest(
                    bytes: bytes,
                    sha256: Hex.lowercase(sha.finalize()),
                    md5Base64: Data(md5.finalize()).base64EncodedString()
                )
            }
        } catch {
            throw .file(path: file.path, detail: "cannot read: \(error)")
        }
    }
}
