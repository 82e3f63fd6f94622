import CEngramKernels
import Foundation
import Synchronization
import Testing

@testable import EngramEmbedding

/// The embedder's own threads: below the request threads in priority, and parts of a pass run by
/// whichever thread is free, so passes started from those threads never wait on each other.
@Suite struct ForwardPassThreadsTests {
    @Test func passesRunBelowTheRequestThreads() async {
        let niceness = await ForwardPassThreads.shared.run { engram_thread_niceness() }
        #if os(Linux)
        #expect(niceness == ForwardPassThreads.niceness)
        #expect(engram_thread_niceness() == 0, "the caller's own priority is unchanged")
        #endif
    }

    /// More passes than threads, each cut into more parts than threads: every part runs once.
    @Test func nestedPartsAllRunWithoutWaitingOnEachOther() async {
        let threads = ForwardPassThreads(count: 2)
        final class Counts: Sendable {
            let runs = Mutex([Int](repeating: 0, count: 6 * 5))
        }
        let counts = Counts()
        await withTaskGroup(of: Void.self) { group in
            for pass in 0..<6 {
                group.addTask {
                    await threads.run {
                        threads.runSideBySide((0..<5).map { part in { counts.runs.withLock { $0[pass * 5 + part] += 1 } } })
                    }
                }
            }
        }
        #expect(counts.runs.withLock { $0 } == [Int](repeating: 1, count: 30))
    }
}
