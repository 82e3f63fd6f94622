public import Foundation
public import GRDB
import Synchronization

/// Group commit: concurrent writes to one SQLite database join one transaction and pay one fsync.
///
/// A write is staged in its own savepoint inside the group's transaction, in the order the writes
/// arrived, so each sees the writes staged before it, as if they had run one after another; a write
/// that throws rolls back to its savepoint and fails alone. The group commits once (with
/// `synchronous = FULL`, one fsync of the WAL), then runs each write's `apply` step (in-memory
/// effects) in order, and only then are the callers resumed: **a write is acknowledged only after
/// its group is durable.** If the commit itself fails, every write of the group fails and nothing
/// of the group is applied.
///
/// While a group commits, new writes queue; the next group takes all of them (up to `maxGroup`), so
/// an idle database adds no latency and a busy one amortises its fsync over every waiting writer.
/// Groups run one at a time on `queue` (a thread outside Swift's cooperative pool, which a commit
/// blocks while it waits for the disk); callers suspend.
///
/// GRDB runs each `write` as its own transaction and has no group commit, hence this type.
public final class GroupCommitter: Sendable {
    /// One write of a group: stages its SQL, then applies its effects once the group is durable.
    private final class Job: @unchecked Sendable {  // touched by the group's thread only, then handed back
        let stage: (Database) throws -> Void
        let apply: () throws -> Void
        let finish: (Result<Void, any Error>) -> Void
        var staged: Result<Void, any Error> = .success(())

        init(
            stage: @escaping (Database) throws -> Void,
            apply: @escaping () throws -> Void,
            finish: @escaping (Result<Void, any Error>) -> Void
        ) {
            self.stage = stage
            self.apply = apply
            self.finish = finish
        }
    }

    private struct State {
        var pending: [Job] = []
        var running = false
        var groups = 0
    }

    private let pool: DatabasePool
    private let queue: DispatchQueue
    /// Wraps each group's transaction and `apply` steps (the store holds its write lock across both).
    private let around: @Sendable (() throws -> Void) throws -> Void
    /// Most writes in one group.
    public let maxGroup: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - pool: the database.
    ///   - queue: the serial queue groups run on (other work on it runs between groups).
    ///   - maxGroup: most writes per group.
    ///   - around: runs a group's commit and apply steps; it must call its argument once.
    public init(
        pool: DatabasePool,
        queue: DispatchQueue,
        maxGroup: Int = 64,
        around: @escaping @Sendable (() throws -> Void) throws -> Void = { try $0() }
    ) {
        self.pool = pool
        self.queue = queue
        self.maxGroup = max(1, maxGroup)
        self.around = around
    }

    /// Writes waiting for the next group.
    public var waitingWrites: Int { state.withLock { $0.pending.count } }

    /// Groups committed (or failed) so far: one transaction and one fsync each.
    public var groupsCommitted: Int { state.withLock { $0.groups } }

    /// Runs `body` in the next group's transaction and returns its result once the group has
    /// committed (fsynced). Throws `body`'s error (its savepoint rolled back) or the commit's.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await write(body, then: { $0 })
    }

    /// Runs `stage` in the next group's transaction, then `apply` with its result after the group
    /// has committed (fsynced), inside `around`; returns `apply`'s result. `apply` runs only when
    /// the group committed and `stage` succeeded.
    public func write<S, T: Sendable>(
        _ stage: @escaping @Sendable (Database) throws -> S,
        then apply: @escaping @Sendable (S) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = Box<S, T>()
            let job = Job(
                stage: { db in box.staged = try stage(db) },
                apply: { box.output = try apply(box.staged!) },
                finish: { result in
                    switch result {
                    case .success: continuation.resume(returning: box.output!)
                    case let .failure(error): continuation.resume(throwing: error)
                    }
                }
            )
            let start = state.withLock { s -> Bool in
                s.pending.append(job)
                if s.running { return false }
                s.running = true
                return true
            }
            if start { queue.async { self.commitNextGroup() } }
        }
    }

    /// Commits the waiting writes (up to `maxGroup`) as one group, then schedules the next group if
    /// more arrived meanwhile (behind any other work queued on `queue`, which is never starved).
    private func commitNextGroup() {
        let group = state.withLock { s -> [Job] in
            let n = min(s.pending.count, maxGroup)
            let taken = Array(s.pending.prefix(n))
            s.pending.removeFirst(n)
            return taken
        }
        commit(group)
        let more = state.withLock { s -> Bool in
            if s.pending.isEmpty { s.running = false }
            return s.running
        }
        if more { queue.async { self.commitNextGroup() } }
    }

    private func commit(_ group: [Job]) {
        var outcomes = [Result<Void, any Error>](repeating: .success(()), count: group.count)
        do {
            try around {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in group {
                            try db.inSavepoint {
                                do {
                                    try job.stage(db)
                                    return .commit
                                } catch {
                                    job.staged = .failure(error)
                                    return .rollback
                                }
                            }
                        }
                        return .commit
                    }
                }
                for (i, job) in group.enumerated() {
                    if case let .failure(error) = job.staged {
                        outcomes[i] = .failure(error)
                        continue
                    }
                    outcomes[i] = Result { try job.apply() }
                }
            }
        } catch {
            outcomes = outcomes.map { _ in .failure(error) }
            for (i, job) in group.enumerated() {
                if case let .failure(own) = job.staged { outcomes[i] = .failure(own) }
            }
        }
        state.withLock { $0.groups += 1 }
        for (job, outcome) in zip(group, outcomes) { job.finish(outcome) }
    }
}

/// A write's staged value and output, touched only by the group's thread, in order: stage, apply, then finish.
private final class Box<S, T>: @unchecked Sendable {
    var staged: S?
    var output: T?
}
