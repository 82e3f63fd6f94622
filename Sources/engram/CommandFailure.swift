import EngramClientKit
import EngramConfig
import EngramDatabase
import EngramRuntime

extension Runtime.Failure: CommandFailure {}
extension EngramClient.Failure: CommandFailure {}
extension EncryptionKeyProblem: CommandFailure {}
