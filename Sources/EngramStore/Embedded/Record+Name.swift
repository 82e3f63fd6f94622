import EngramStoreModel

/// A retrieved point. Inside this module `Record` names the model's type, not GRDB's base class of the
/// same name, which the files that read SQLite also import.
typealias Record = EngramStoreModel.Record
