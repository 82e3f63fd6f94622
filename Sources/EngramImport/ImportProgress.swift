package import EngramClientKit

/// Progress of an import: the shared `ProgressReporter` (a bar on a terminal, plain lines otherwise).
package struct ImportProgress {
    package let reporter: ProgressReporter

    package init(total: Int) { reporter = ProgressReporter("importing", total: total) }

    package func update(_ done: Int) { reporter.update(done) }

    package func finish() { reporter.finish() }
}
