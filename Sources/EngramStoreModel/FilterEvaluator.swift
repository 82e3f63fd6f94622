import EngramCore

/// Evaluates filters against a point's id and payload with Qdrant's semantics.
///
/// - A field holding an array matches `match`/`range` when any element does.
/// - `match.except` needs the field present and not null (a missing field does not match).
/// - `is_empty`: missing, null or `[]`. `is_null`: present and null.
/// - `should` holds when any of its conditions does (or when it is empty).
public enum FilterEvaluator {
    /// Whether the point satisfies `filter`.
    public static func matches(_ filter: Filter, id: PointID, payload: Payload) -> Bool {
        if let must = filter.must, !must.allSatisfy({ holds($0, id: id, payload: payload) }) { return false }
        if let mustNot = filter.mustNot, mustNot.contains(where: { holds($0, id: id, payload: payload) }) { return false }
        if let should = filter.should, !should.isEmpty, !should.contains(where: { holds($0, id: id, payload: payload) }) {
            return false
        }
        if let min = filter.minShould {
            var n = 0
            for c in min.conditions where holds(c, id: id, payload: payload) { n += 1 }
            if n < min.minCount { return false }
        }
        return true
    }

    /// Whether one condition holds.
    public static func holds(_ condition: Condition, id: PointID, payload: Payload) -> Bool {
        switch condition {
        case let .filter(f):
            return matches(f, id: id, payload: payload)
        case let .hasID(ids):
            return ids.contains(id)
        case let .isEmpty(key):
            let values = payload.values(at: key)
            return values.allSatisfy { v in
                if v.isNull { return true }
                if case let .array(a) = v { return a.isEmpty }
                return false
            }
        case let .isNull(key):
            let values = payload.values(at: key)
            return !values.isEmpty && values.contains(where: \.isNull)
        case let .nested(key, filter):
            for v in payload.values(at: key) {
                let elements: [JSONValue]
                if case let .array(a) = v { elements = a } else { elements = [v] }
                for e in elements {
                    if case let .object(o) = e, matches(filter, id: id, payload: o) { return true }
                }
            }
            return false
        case let .field(f):
            return fieldHolds(f, payload: payload)
        }
    }

    static func fieldHolds(_ f: FieldCondition, payload: Payload) -> Bool {
        let raw = payload.values(at: f.key)
        if let vc = f.valuesCount {
            var n = 0
            for v in raw {
                if case let .array(a) = v { n += a.count } else if !v.isNull { n += 1 }
            }
            if let x = vc.gt, !(n > x) { return false }
            if let x = vc.gte, !(n >= x) { return false }
            if let x = vc.lt, !(n < x) { return false }
            if let x = vc.lte, !(n <= x) { return false }
            if f.match == nil && f.range == nil { return true }
        }
        // Flatten arrays one level: a condition on an array field holds when any element matches.
        var values: [JSONValue] = []
        values.reserveCapacity(raw.count)
        for v in raw {
            if case let .array(a) = v { values += a } else { values.append(v) }
        }
        if let match = f.match {
            switch match {
            case let .value(target):
                if !values.contains(where: { $0.matches(target) }) { return false }
            case let .any(targets):
                if !values.contains(where: { v in targets.contains(where: { v.matches($0) }) }) { return false }
            case let .except(excluded):
                let present = values.filter { !$0.isNull }
                if present.isEmpty { return false }
                if !present.contains(where: { v in !excluded.contains(where: { v.matches($0) }) }) { return false }
            case let .text(text):
                if !values.contains(where: { $0.stringValue?.contains(text) ?? false }) { return false }
            }
        }
        if let range = f.range {
            if !values.contains(where: { inRange($0, range) }) { return false }
        }
        return true
    }

    static func inRange(_ value: JSONValue, _ r: RangeCondition) -> Bool {
        let numeric = value.number
        let time = value.stringValue.flatMap(RFC3339.parse)
        func ok(_ bound: RangeBound?, _ cmp: (Double, Double) -> Bool) -> Bool {
            guard let bound else { return true }
            switch bound {
            case let .number(b):
                if let numeric { return cmp(numeric, b) }
                return false
            case let .datetime(b):
                if let time { return cmp(time, b) }
                return false
            }
        }
        if numeric == nil && time == nil { return false }
        return ok(r.gt, >) && ok(r.gte, >=) && ok(r.lt, <) && ok(r.lte, <=)
    }
}
