import ArgumentParser
import EngramClientKit
import EngramConfig
import EngramLifecycle
import EngramMemory
import EngramMetadata
import EngramRuntime
import Foundation

/// `engram rescan [--apply]`: today's secret filter and poisoning screen over every stored memory and version.
struct Rescan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run the secret filter and the poisoning screen over every stored memory and version; --apply quarantines the hits.",
        discussion: """
            Secret and screen rules change, and text stored under older rules must meet the new ones. Without --apply \\
            the command only lists the hits (memory id, version, rules; never the text); a hit is a secret or a \\
            planted instruction the poisoning screen blocks. Memories the screen newly flags are listed as \\
            `flagged`; with --apply they are marked flagged and published org memories go back to review. With --apply, a memory whose \\
            current text matches becomes `quarantined` (hidden from every read path) and an older version's text \\
            is withheld from history and revert; every hit is listed for the org's admins \\
            (GET /v1/admin/quarantine) and audited. Nothing is deleted. Run it with the server stopped (like \\
            import); the server also runs a dry rescan at start and logs the number of hits.
            """
    )
    @Flag(help: "Quarantine the hits (default: list them only).") var apply = false
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await storeOptions.withPostgresMetadata { metadata in try await rescan(metadata: metadata) }
    }

    private func rescan(metadata: (any MetadataStore)?) async throws {
        let logger = MemoryStores.quietLogger()
        let setup = try await Runtime.embedder(logger: logger, dataDirectory: storeOptions.dataDirectory)
        let service = try await MemoryStores.open(
            EngramConfiguration().storeSpec(flag: nil),
            dataDirectory: storeOptions.dataDirectory,
            setup: setup,
            mode: apply ? .readWrite : .readOnly,
            metadata: metadata,
            logger: logger
        )
        let progress = ProgressReporter("rescanning", total: nil)
        let report = try await service.rescan(apply: apply) { done, total in progress.update(done, total: total) }
        progress.finish(report.memoriesScanned + report.versionsScanned)
        await MemoryStores.close(service)
        for hit in report.hits {
            let place = hit.current ? "current" : "history"
            print("\(hit.memoryId.uuidString.lowercased())  v\(hit.version)  \(place)  org=\(hit.orgId ?? "-")  \(hit.rules.joined(separator: ","))")
        }
        for id in report.flagged { print("\(id.uuidString.lowercased())  flagged") }
        let verb = apply ? "quarantined \(report.quarantined) new" : "found"
        print(
            "scanned \(report.memoriesScanned) memories and \(report.versionsScanned) versions: \(report.hits.count) hit(s); \(verb); \(report.flagged.count) newly flagged"
                + (apply || report.hits.isEmpty ? "" : " (run with --apply to quarantine them)")
        )
    }
}
