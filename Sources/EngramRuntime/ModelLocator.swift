package import Foundation

/// Finds the MiniLM model files independently of the working directory.
///
/// Order: `ENGRAM_MODEL_DIR` (when set, it alone decides); the directory recorded in the data
/// directory (`engram.json`); `models/all-MiniLM-L6-v2` in the nearest ancestor of the
/// executable's real path that has one (a checkout's `.build/…/engram` finds the checkout's
/// models); `models/all-MiniLM-L6-v2` under the working directory last.
package struct ModelLocator {
    package static let relativeDefault = "models/all-MiniLM-L6-v2"
    package static let weightsFile = "model.safetensors"

    /// The directory holding the model files, or nil.
    package let found: URL?
    /// Every directory looked at, in order (for the error that names them).
    package let tried: [String]

    /// Looks in `explicit` (`ENGRAM_MODEL_DIR`) alone when given, else in the usual places.
    package init(explicit: String?, record: DataDirectoryRecord?) {
        var candidates: [URL] = []
        if let explicit, !explicit.isEmpty {
            candidates = [URL(fileURLWithPath: explicit)]
        } else {
            if let recorded = record?.embedding.modelDirectory { candidates.append(URL(fileURLWithPath: recorded)) }
            candidates += Self.besideExecutable()
            candidates.append(URL(fileURLWithPath: Self.relativeDefault))
        }
        var tried: [String] = []
        var found: URL?
        for dir in candidates {
            let path = dir.standardizedFileURL.path
            if tried.contains(path) { continue }
            tried.append(path)
            if Self.holdsModel(dir) {
                found = dir.standardizedFileURL
                break
            }
        }
        self.found = found
        self.tried = tried
    }

    package static func holdsModel(_ dir: URL) -> Bool {
        FileManager.default.fileExists(atPath: dir.appendingPathComponent(weightsFile).path)
    }

    /// `models/all-MiniLM-L6-v2` in each ancestor of the executable's real path, nearest first,
    /// keeping only the first that holds the model (so the error lists one, not every ancestor).
    package static func besideExecutable() -> [URL] {
        guard let exe = executablePath() else { return [] }
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(relativeDefault)
            if holdsModel(candidate) { return [candidate] }
            dir.deleteLastPathComponent()
        }
        return []
    }

    /// The running executable with symbolic links resolved (`/proc/self/exe` on Linux).
    package static func executablePath() -> String? {
        for start in ["/proc/self/exe", CommandLine.arguments.first ?? ""] where !start.isEmpty {
            guard let resolved = realpath(start, nil) else { continue }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return nil
    }
}
