import CBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which BLAS implementation `-lblas` resolved to at run time.
///
/// Debian's alternatives system points `libblas.so.3` at OpenBLAS when
/// `libopenblas0-pthread` is installed and at netlib's reference BLAS otherwise;
/// the reference build is about 4× slower, so the server reports which is active.
public enum BLASKind: String, Sendable, Codable {
    /// OpenBLAS (optimised kernels; held to one thread per call by Engram).
    case openBLAS = "openblas"
    /// Netlib reference BLAS (portable, slow).
    case reference = "reference"
}

/// Start-up inspection and configuration of the linked BLAS.
///
/// OpenBLAS-only entry points are looked up with `dlsym`, so the binary links and
/// runs against either implementation.
public enum BLASRuntime {
    private typealias GetConfig = @convention(c) () -> UnsafePointer<CChar>?
    private typealias SetThreads = @convention(c) (Int32) -> Void

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        guard let handle = dlopen(nil, RTLD_NOW) else { return nil }
        return dlsym(handle, name)
    }

    /// The active implementation.
    public static let kind: BLASKind = symbol("openblas_get_config") == nil ? .reference : .openBLAS

    /// A one-line description, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    public static let details: String = {
        guard let sym = symbol("openblas_get_config") else { return "netlib reference BLAS" }
        let fn = unsafeBitCast(sym, to: GetConfig.self)
        guard let cstr = fn() else { return "OpenBLAS" }
        return "OpenBLAS " + String(cString: cstr)
    }()

    /// Hold OpenBLAS to one thread per call: the server parallelises across
    /// requests instead, which avoids oversubscribing the cores. Idempotent;
    /// a no-op with the reference BLAS.
    public static func configureSingleThreaded() {
        _ = singleThreaded
    }

    private static let singleThreaded: Bool = {
        guard let sym = symbol("openblas_set_num_threads") else { return false }
        let fn = unsafeBitCast(sym, to: SetThreads.self)
        fn(1)
        return true
    }()
}
