package import EngramMetadata

/// Where a follower stands in the change feed (`GlobalQueries.changes`), with the feed's gaps accounted for.
///
/// Positions are handed out when a row is inserted but become visible when its transaction commits, so a
/// reader can see position 12 before 11: 11 is a gap. A gap is either a transaction still in flight (it
/// shows up shortly) or one that rolled back (it never does). The cursor keeps `floor` at the last
/// position below which nothing is missing, remembers what it applied above it, and gives a gap up after
/// `gapTimeout` seconds. Written by hand: this is the follower's own bookkeeping, no library models it.
package struct ChangeCursor: Sendable {
    /// Every position at or below this was applied or given up.
    package private(set) var floor: Int64
    /// Positions above `floor` already applied.
    private var applied: Set<Int64> = []
    /// Positions above `floor` not seen yet although a later one was, with when that was first noticed.
    private var missingSince: [Int64: Double] = [:]
    /// How long a gap is waited for.
    package let gapTimeout: Double
    /// Gaps given up, with when: a transaction slower than `gapTimeout` still commits in the end, so the
    /// follower looks for them again (`GlobalQueries.changes(at:)`) for `lateWatch` seconds.
    private var givenUp: [Int64: Double] = [:]
    /// How long a gap given up is looked for again.
    package static let lateWatch = 600.0
    /// The most gaps given up that are looked for at once (the oldest are forgotten first).
    package static let maxLate = 10_000
    /// The most gap positions tracked at once; a larger jump (a sequence that skipped ahead after a database
    /// crash, or rows purged while the follower stood still) cannot all be transactions in flight.
    package static let maxTrackedGap: Int64 = 65_536

    package init(floor: Int64, gapTimeout: Double = 5) {
        self.floor = floor
        self.gapTimeout = gapTimeout
    }

    /// The rows of a read after `floor` that are not applied yet.
    package func unapplied(_ rows: [ChangeRow]) -> [ChangeRow] {
        rows.filter { $0.seq > floor && !applied.contains($0.seq) }
    }

    /// Gaps being waited for.
    package var gaps: Int { missingSince.count }
    /// When the feed was last read successfully (seconds since 1970; nil: never).
    package var lastReadAt: Double?
    /// The recording time of the newest entry applied (the database's clock; nil: none yet).
    package var newestAppliedAt: Double?

    /// Records `seqs` as applied at `now` and moves `floor` past every position that is applied or whose gap
    /// timed out.
    package mutating func markApplied(_ seqs: [Int64], now: Double) {
        for s in seqs where s > floor { applied.insert(s) }
        guard let top = applied.max() else { return }
        if top - floor > Self.maxTrackedGap {
            let skipped = top - Self.maxTrackedGap
            applied = applied.filter { $0 > skipped }
            missingSince = missingSince.filter { $0.key > skipped }
            floor = skipped
        }
        var s = floor + 1
        while s < top {
            if !applied.contains(s), missingSince[s] == nil { missingSince[s] = now }
            s += 1
        }
        while true {
            let next = floor + 1
            if applied.remove(next) != nil {
                missingSince[next] = nil
                floor = next
            } else if let since = missingSince[next], now - since >= gapTimeout {
                missingSince[next] = nil
                floor = next
                givenUp[next] = now
            } else {
                break
            }
        }
    }

    /// Moves `floor` past gaps that timed out, with nothing new applied.
    package mutating func expireGaps(now: Double) { markApplied([], now: now) }

    /// The gaps given up that are still looked for at `now` (those watched for `lateWatch` are forgotten).
    package mutating func lateGaps(now: Double) -> [Int64] {
        givenUp = givenUp.filter { now - $0.value < Self.lateWatch }
        if givenUp.count > Self.maxLate {
            let kept = givenUp.sorted { $0.key > $1.key }.prefix(Self.maxLate)
            givenUp = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        return givenUp.keys.sorted()
    }

    /// Records that the gaps at `seqs` arrived late (and were applied).
    package mutating func arrivedLate(_ seqs: [Int64]) {
        for s in seqs { givenUp[s] = nil }
    }
}
