import EngramMemory
import Logging

/// The server's lifecycle timers: the served log is flushed every second (searches only append to a
/// buffer), and the freshness sweep (`MemoryService.sweep`) runs a minute after start, then every `sweepEvery`.
enum LifecycleSchedule {
    static func run(memories: MemoryService, sweepEvery: Duration, logger: Logger) async {
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
                let r = try await memories.sweep()
                logger.info(
                    "freshness sweep",
                    metadata: [
                        "stale": "\(r.staled.count)", "archived": "\(r.archived.count)", "purged": "\(r.purged.count)",
                        "served_rows_purged": "\(r.servedRowsPurged)",
                    ]
                )
            } catch {
                logger.error("freshness sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
