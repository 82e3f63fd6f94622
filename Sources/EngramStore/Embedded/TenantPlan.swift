import EngramCore
import EngramKernels
import EngramStoreModel

/// How a filter maps onto tenant shards: when its top-level `must` pins the
/// tenant field to string values, only those shards (plus the shard of points
/// whose tenant field is not a single string) are scanned, and the pinning
/// condition need not be re-evaluated inside the named shards.
struct TenantPlan {
    /// The pinned tenant values, or nil when the filter does not pin the tenant.
    let tenants: [String]?
    let full: Filter?
    let residual: Filter?

    init(filter: Filter?, tenantKey: String?) {
        full = (filter?.isEmpty ?? true) ? nil : filter
        guard let filter = full, let tenantKey, let must = filter.must else {
            tenants = nil
            residual = full
            return
        }
        for (i, condition) in must.enumerated() {
            guard case let .field(f) = condition, f.key == tenantKey, f.range == nil, f.valuesCount == nil else { continue }
            var values: [String]?
            switch f.match {
            case let .value(.string(s))?: values = [s]
            case let .any(list)?:
                let strings = list.compactMap(\.stringValue)
                if strings.count == list.count { values = strings }
            default: break
            }
            guard let values else { continue }
            var rest = filter
            rest.must!.remove(at: i)
            tenants = values
            residual = rest.isEmpty ? nil : rest
            return
        }
        tenants = nil
        residual = full
    }

    /// The ids of a top-level `must` `has_id` condition: only those points can match.
    var pinnedIDs: [PointID]? {
        for condition in full?.must ?? [] { if case let .hasID(ids) = condition { return ids } }
        return nil
    }

    /// The filter to evaluate on a point of the given shard.
    func filter(forTenant tenant: String?) -> Filter? {
        guard tenants != nil else { return full }
        return tenant == nil ? full : residual
    }

    func shards(in all: [String?: VectorMatrix]) -> [(String?, VectorMatrix)] {
        guard let tenants else { return all.map { ($0.key, $0.value) } }
        var out: [(String?, VectorMatrix)] = []
        for t in Set(tenants) { if let s = all[t] { out.append((t, s)) } }
        if let other = all[nil] { out.append((nil, other)) }
        return out
    }
}
