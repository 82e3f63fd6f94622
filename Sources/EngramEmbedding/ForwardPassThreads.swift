import CEngramKernels
import Foundation

/// The threads that run MiniLM forward passes, one per core, scheduled below the threads that serve
/// requests (nice 10): under a write load the embedder takes every core the server leaves idle,
/// yet a health check or a search's own work is never queued behind a batch of embeddings.
///
/// Hand-written because nothing else gives per-thread priorities here: GCD on Linux maps no QoS
/// class to a scheduling priority, and a GCD thread whose niceness were raised for a pass could not
/// lower it again without privilege (it would carry the priority into unrelated work).
final class ForwardPassThreads: @unchecked Sendable {  // every mutable field is guarded by `condition`
    /// One per core (at most eight).
    static let shared = ForwardPassThreads(count: max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)))

    /// The niceness of these threads (0 is the default; higher runs when nothing else wants the core).
    static let niceness: Int32 = 10

    private final class Job {
        let body: () -> Void
        var claimed = false
        var done = false
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private let condition = NSCondition()
    private var queue: [Job] = []

    init(count: Int) {
        for i in 0..<count {
            // The threads serve for the life of the process (and keep their pool alive).
            let thread = Thread { self.work() }
            thread.name = "engram.embedder.\(i)"
            thread.start()
        }
    }

    private func work() {
        _ = engram_set_thread_niceness(Self.niceness)
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            job.claimed = true
            condition.unlock()
            finish(job)
        }
    }

    private func finish(_ job: Job) {
        job.body()
        condition.lock()
        job.done = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body` on one of these threads while the caller suspends.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            enqueue([Job { continuation.resume(returning: body()) }])
        }
    }

    /// Runs `bodies` side by side: the first on the calling thread, the others on these threads, or
    /// on the calling thread too when no thread of the pool has taken them yet (so a caller that is
    /// itself one of these threads never waits for a part nobody runs). Returns when all are done.
    func runSideBySide(_ bodies: [() -> Void]) {
        guard let first = bodies.first else { return }
        let rest = bodies.dropFirst().map(Job.init)
        enqueue(rest)
        first()
        for job in rest {
            condition.lock()
            if !job.claimed {
                job.claimed = true
                queue.removeAll { $0 === job }
                condition.unlock()
                finish(job)
                continue
            }
            while !job.done { condition.wait() }
            condition.unlock()
        }
    }

    private func enqueue(_ jobs: [Job]) {
        guard !jobs.isEmpty else { return }
        condition.lock()
        queue += jobs
        condition.broadcast()
        condition.unlock()
    }
}
