public import EngramCore

/// A point's payload: a JSON object.
public typealias Payload = [String: JSONValue]
