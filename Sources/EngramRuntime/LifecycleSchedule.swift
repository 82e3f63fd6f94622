import EngramLifecycle
package import EngramMemory
import EngramMemoryModel
package import Logging

/// The server's lifecycle work: a dry rescan at start, the served log flushed every second (searches only
/// append to a buffer), and the freshness sweep (`MemoryService.sweep`) runs a minute after start, then every `sweepEvery`.
/// Every replica flushes its own served log; the sweep runs through `runner`, so with replicas on one
/// PostgreSQL database one of them at a time sweeps (the others skip that period's sweep).
package enum LifecycleSchedule {
    package static func run(memories: MemoryService, sweepEvery: Duration, runner: any SingleRunner = LocalRunner(), logger: Logger) async {
        // Rules may have changed since the memories were written: a dry rescan (in the background, so a
        // large store does not delay the listener) says how many no longer pass.
        do {
            let rescan = try await memories.rescan(apply: false)
            if !rescan.hits.isEmpty {
                logger.warning(
                    "stored memories fail today's secret filter; run `engram rescan --apply` to quarantine them",
                    metadata: ["hits": "\(rescan.hits.count)", "rules": "\(Set(rescan.hits.flatMap(\.rules)).sorted())"]
                )
            }
        } catch {
            logger.error("start-up rescan failed", metadata: ["error": "\(error)"])
        }
        var untilSweep = Duration.seconds(60)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { break }
            do {
                try await memories.usage.flush()
            } catch {
                logger.warning("served log flush failed; retrying", metadata: ["error": "\(type(of: error))"])
            }
            untilSweep -= .seconds(1)
            guard untilSweep <= .zero else { continue }
            untilSweep = sweepEvery
            do {
                let ran = try await runner.run(.sweep) {
                    let r = try await memories.sweep()
                    logger.info(
                        "freshness sweep",
                        metadata: [
                            "stale": "\(r.staled.count)", "archived": "\(r.archived.count)", "purged": "\(r.purged.count)",
                            "served_rows_purged": "\(r.servedRowsPurged)",
                        ]
                    )
                }
                if !ran {
                    logger.info("freshness sweep skipped: another replica holds it")
                    // What the other replicas served counts here too (ranking, the usage shown).
                    try await memories.followUsage()
                }
            } catch {
                logger.error("freshness sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
