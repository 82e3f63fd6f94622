import EngramMetadata
import Foundation
import PostgresNIO

/// The audit log, memory versions, usage, reports, webhook deliveries, policies, quarantine and the outbox
/// (`AuditQueries`, `LifecycleQueries`).
extension PostgresMetadataTransaction {
    // MARK: - Audit

    func appendAudit(_ rows: [AuditRow]) throws {
        for r in rows {
            try tx.execute(
                """
                INSERT INTO engram.audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail)
                VALUES (\(r.at), \(r.orgId), \(r.actor), \(r.action), \(r.memoryId), \(r.beforeHash), \(r.afterHash), \(r.detail))
                """
            )
        }
    }

    func auditRows(orgId: String, limit: Int, before cursor: Int64?) throws -> [AuditRow] {
        try tx.rows(
            """
            SELECT id, at, org_id, actor, action, memory_id, before_hash, after_hash, detail FROM engram.audit_log
            WHERE org_id = \(orgId) AND (\(cursor)::bigint IS NULL OR id < \(cursor))
            ORDER BY id DESC LIMIT \(limit)
            """,
            as: AuditTuple.self
        ).map(auditRow)
    }

    // MARK: - Lifecycle

    func appendVersions(_ rows: [VersionRow], keepingExisting: Bool) throws {
        for r in rows {
            let snapshot = try sealing.sealed(r)
            let tenant = try memoryTenant(r.memoryId, orgId: r.orgId, declared: r.tenant)
            if keepingExisting {
                try tx.execute(
                    """
                    INSERT INTO engram.memory_versions (\(unescaped: versionColumns), tenant)
                    VALUES (\(r.memoryId), \(r.version), \(r.at), \(r.actor), \(r.channel), \(r.client), \(r.requestId), \(r.reason),
                            \(r.orgId), \(r.state), \(r.contentHash), \(snapshot), \(r.tokenId), \(tenant))
                    ON CONFLICT (memory_id, version) DO NOTHING
                    """
                )
            } else {
                try tx.execute(
                    """
                    INSERT INTO engram.memory_versions (\(unescaped: versionColumns), tenant)
                    VALUES (\(r.memoryId), \(r.version), \(r.at), \(r.actor), \(r.channel), \(r.client), \(r.requestId), \(r.reason),
                            \(r.orgId), \(r.state), \(r.contentHash), \(snapshot), \(r.tokenId), \(tenant))
                    """
                )
            }
        }
    }

    func versions(memoryId: String) throws -> [VersionRow] {
        try tx.rows(
            "SELECT \(unescaped: versionColumns) FROM engram.memory_versions WHERE memory_id = \(memoryId) ORDER BY version",
            as: VersionTuple.self
        ).map { sealing.opened(versionRow($0)) }
    }

    func versions(orgId: String, since: Double) throws -> [VersionRow] {
        try tx.rows(
            """
            SELECT \(unescaped: versionColumns) FROM engram.memory_versions WHERE org_id = \(orgId) AND at >= \(since)
            ORDER BY memory_id, version
            """,
            as: VersionTuple.self
        ).map { sealing.opened(versionRow($0)) }
    }

    func recordUsage(served: [ServedRow], usage: [UsageRow]) throws {
        for r in served {
            let tenant = try memoryTenant(r.memoryId, orgId: nil)
            try tx.execute(
                """
                INSERT INTO engram.served_log (at, memory_id, user_id, rank, tenant)
                VALUES (\(r.at), \(r.memoryId), \(r.userId), \(r.rank), \(tenant))
                """
            )
        }
        for u in usage {
            let tenant = try memoryTenant(u.memoryId, orgId: nil)
            try tx.execute(
                """
                INSERT INTO engram.memory_usage AS u (memory_id, served_count, last_served_at, last_confirmed_at, tenant)
                VALUES (\(u.memoryId), greatest(\(u.servedCount), 0), \(u.lastServedAt), \(u.lastConfirmedAt), \(tenant))
                ON CONFLICT (memory_id) DO UPDATE SET served_count = greatest(u.served_count + \(u.servedCount), 0),
                  last_served_at = greatest(u.last_served_at, excluded.last_served_at),
                  last_confirmed_at = greatest(u.last_confirmed_at, excluded.last_confirmed_at)
                """
            )
        }
    }

    func served(since: Double, memoryIds: [String]?, limit: Int) throws -> [ServedRow] {
        if let memoryIds, memoryIds.isEmpty { return [] }
        return try tx.rows(
            """
            SELECT at, memory_id, user_id, rank FROM engram.served_log
            WHERE at >= \(since) AND (\(memoryIds)::text[] IS NULL OR memory_id = ANY (\(memoryIds)::text[]))
            ORDER BY id DESC LIMIT \(limit)
            """,
            as: (Double, String, String, Int).self
        ).map { ServedRow(at: $0.0, memoryId: $0.1, userId: $0.2, rank: $0.3) }
    }

    private static let reportColumns = "id, at, memory_id, org_id, user_id, verdict, note, resolved"

    func insertReport(_ r: ReportRow) throws {
        let tenant = try memoryTenant(r.memoryId, orgId: r.orgId)
        try tx.execute(
            """
            INSERT INTO engram.memory_reports (at, memory_id, org_id, user_id, verdict, note, resolved, tenant)
            VALUES (\(r.at), \(r.memoryId), \(r.orgId), \(r.userId), \(r.verdict), \(r.note), false, \(tenant))
            """
        )
    }

    func openReports(memoryId: String) throws -> [ReportRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.reportColumns) FROM engram.memory_reports
            WHERE memory_id = \(memoryId) AND NOT resolved ORDER BY id
            """,
            as: ReportTuple.self
        ).map(reportRow)
    }

    func recentReports(orgId: String, since: Double, limit: Int) throws -> [ReportRow] {
        try tx.rows(
            """
            SELECT \(unescaped: Self.reportColumns) FROM engram.memory_reports
            WHERE org_id = \(orgId) AND at >= \(since) ORDER BY id DESC LIMIT \(limit)
            """,
            as: ReportTuple.self
        ).map(reportRow)
    }

    func resolveReports(memoryId: String) throws {
        try tx.execute("UPDATE engram.memory_reports SET resolved = true WHERE memory_id = \(memoryId) AND NOT resolved")
    }

    func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) throws -> Bool {
        try tx.execute(
            """
            INSERT INTO engram.webhook_deliveries (org_id, provider, delivery_id, at) VALUES (\(orgId), \(provider), \(deliveryId), \(time))
            ON CONFLICT (org_id, provider, delivery_id) DO NOTHING
            """
        ) == 1
    }

    func forgetDelivery(orgId: String, provider: String, deliveryId: String) throws {
        try tx.execute(
            """
            DELETE FROM engram.webhook_deliveries WHERE org_id = \(orgId) AND provider = \(provider) AND delivery_id = \(deliveryId)
            """
        )
    }

    func policy(orgId: String) throws -> LifecyclePolicyRow? {
        try tx.rows(
            "SELECT stale_after_days, version_retention_days, approver_must_differ FROM engram.orgs WHERE id = \(orgId)",
            as: (Int, Int, Bool).self
        ).first.map { LifecyclePolicyRow(staleAfterDays: $0.0, versionRetentionDays: $0.1, approverMustDiffer: $0.2) }
    }

    func setPolicy(_ p: LifecyclePolicyRow, orgId: String) throws -> Bool {
        try tx.execute(
            """
            UPDATE engram.orgs SET stale_after_days = \(p.staleAfterDays), version_retention_days = \(p.versionRetentionDays),
              approver_must_differ = \(p.approverMustDiffer)
            WHERE id = \(orgId)
            """
        ) == 1
    }

    func webhookSecret(orgId: String) throws -> String? {
        let stored = try tx.column("SELECT webhook_secret FROM engram.orgs WHERE id = \(orgId)", as: String?.self).first ?? nil
        guard let stored else { return nil }
        guard let sealer = sealing.sealer else {
            if stored.hasPrefix(SealedIdentity.textPrefix) { throw SealedValueUnreadable(identity: SealedIdentity.webhookIdentity(orgId)) }
            return stored
        }
        return try sealer.openText(stored, tenant: SealedIdentity.webhookTenant(orgId), identity: SealedIdentity.webhookIdentity(orgId))
    }

    func setWebhookSecret(_ secret: String?, orgId: String) throws -> Bool {
        let stored = try secret.map {
            try sealing.sealer?.sealText($0, tenant: SealedIdentity.webhookTenant(orgId), identity: SealedIdentity.webhookIdentity(orgId)) ?? $0
        }
        return try tx.execute("UPDATE engram.orgs SET webhook_secret = \(stored) WHERE id = \(orgId)") == 1
    }

    @discardableResult
    func quarantine(_ rows: [QuarantineRow]) throws -> Int {
        var added = 0
        for r in rows {
            let tenant = try memoryTenant(r.memoryId, orgId: r.orgId)
            added += try tx.execute(
                """
                INSERT INTO engram.quarantine (memory_id, version, org_id, rules, at, tenant)
                VALUES (\(r.memoryId), \(r.version), \(r.orgId), \(r.rules), \(r.at), \(tenant))
                ON CONFLICT (memory_id, version) DO NOTHING
                """
            )
        }
        return added
    }

    func insertOutbox(_ rows: [OutboxRow]) throws {
        for r in rows {
            try tx.execute(
                """
                INSERT INTO engram.outbox (memory_id, version, tenant) VALUES (\(r.memoryId), \(r.version), \(r.tenant))
                ON CONFLICT (memory_id, version) DO NOTHING
                """
            )
        }
    }

    func quarantined(orgId: String?) throws -> [QuarantineRow] {
        try tx.rows(
            """
            SELECT memory_id, version, org_id, rules, at FROM engram.quarantine
            WHERE \(orgId)::text IS NULL OR org_id = \(orgId) ORDER BY at DESC
            """,
            as: QuarantineTuple.self
        ).map(quarantineRow)
    }
}
